"""The search vocabulary from ``seed_data/search.yaml``: need keywords, synonyms, filler words,
crisis terms; with the bilingual synonyms of ``seed_data/search_synonyms.yaml``.

Text is compared folded: lower case, accents removed, split into words, so "Suicidio" and
"suicidio", "autolesión" and "autolesion" are the same, and "skills" never contains "kill".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from directory.listings.vocabularies import seed_dir

WORD = re.compile(r"\w+")
STOP_WORD_LISTS = ("english", "spanish")
SYNONYMS_FILE = "search_synonyms.yaml"


def fold(text: str) -> str:
    """Lower case without accents ("Autolesión" -> "autolesion")."""
    if text.isascii():  # the common case, the same answer without the per-character pass
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of a text."""
    return WORD.findall(fold(text))


def singular(word: str) -> str:
    """A word without a plural ``s`` ("groups" -> "group", "grupos" -> "grupo"), to compare a
    query's words with need keywords; applied to both sides, so "crisis" stays comparable."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass(frozen=True)
class Vocabulary:
    need_keywords: dict[str, tuple[str, ...]]
    synonyms: tuple[tuple[str, ...], ...]
    crisis_phrases: tuple[tuple[str, ...], ...]  # each phrase as its folded words
    first_lines: dict[str, tuple[str, str]]  # country -> (source, external_id)
    filler: frozenset[str] = frozenset()  # folded words that say nothing about what is wanted
    # languages / costs / accessibility -> code -> folded words a searcher uses for it
    fact_words: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # each need keyword as its singular words -> the needs it names
    need_phrases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def signals_crisis(self, text: str | None) -> bool:
        """Whether a query contains a crisis phrase, matched on whole words."""
        return bool(text) and bool(self.crisis_words(words(text or "")))

    def crisis_words(self, found: list[str]) -> set[str]:
        """The words of a query's crisis phrases (empty: none), matched on whole words, plural
        or singular ("pensamientos suicidas")."""
        hits: set[str] = set()
        base = [singular(w) for w in found]
        for phrase in self.crisis_phrases:
            size, wanted = len(phrase), tuple(singular(w) for w in phrase)
            for i in range(len(base) - size + 1):
                if tuple(base[i : i + size]) == wanted:
                    hits.update(found[i : i + size])
        return hits

    def synonyms_of(self, word: str) -> tuple[str, ...]:
        """The other words of the synonym groups a folded word belongs to."""
        return tuple(
            dict.fromkeys(
                other
                for group in self.synonyms
                if word in group
                for other in group
                if other != word
            )
        )

    def needs_named(self, found: list[str]) -> dict[str, tuple[int, ...]]:
        """The needs a query's folded words name through need keywords, longest phrase first
        ("crisis center" is crisis stabilization, not crisis): need -> the positions of the words
        that named it."""
        if not self.need_phrases:
            return {}
        longest = max(len(phrase) for phrase in self.need_phrases)
        base = [singular(w) for w in found]
        named: dict[str, list[int]] = {}
        i = 0
        while i < len(base):
            for size in range(min(longest, len(base) - i), 0, -1):
                codes = self.need_phrases.get(tuple(base[i : i + size]))
                if codes:
                    for code in codes:
                        named.setdefault(code, []).extend(range(i, i + size))
                    i += size
                    break
            else:
                i += 1
        return {code: tuple(positions) for code, positions in named.items()}

    def vocabulary_words(self) -> frozenset[str]:
        """The synonyms' words and the one-word need keywords: never stop words to a search."""
        found = {w for group in self.synonyms for w in group}
        found |= {k for keywords in self.need_keywords.values() for k in keywords if " " not in k}
        found |= {w for codes in self.fact_words.values() for f in codes.values() for w in f}
        return frozenset(w for w in found if " " not in w)

    def facts(self, kind: str, codes: list[str]) -> list[str]:
        """The words for a listing's languages, costs or accessibility (``kind``)."""
        known = self.fact_words.get(kind, {})
        return [w for code in codes for w in known.get(code, ())]


@lru_cache
def vocabulary() -> Vocabulary:
    """The vocabulary, read once."""
    data = yaml.safe_load((seed_dir() / "search.yaml").read_text(encoding="utf-8"))
    need_keywords = {
        code: tuple(fold(k) for k in keywords) for code, keywords in data["need_keywords"].items()
    }
    phrases: dict[tuple[str, ...], list[str]] = {}
    for code, keywords in need_keywords.items():
        for keyword in keywords:
            key = tuple(singular(w) for w in words(keyword))
            if key and code not in phrases.setdefault(key, []):
                phrases[key].append(code)
    groups = [*data.get("synonyms", []), *bilingual_synonyms()]
    return Vocabulary(
        need_keywords=need_keywords,
        synonyms=tuple(tuple(dict.fromkeys(fold(w) for w in group)) for group in groups),
        crisis_phrases=tuple(
            tuple(words(phrase)) for phrases in data["crisis_terms"].values() for phrase in phrases
        ),
        first_lines={
            country.upper(): (line["source"], line["external_id"])
            for country, line in data["first_line_by_country"].items()
        },
        filler=frozenset(
            w
            for listed in (data.get("filler_words") or {}).values()
            for f in listed
            for w in words(f)
        ),
        need_phrases={key: tuple(codes) for key, codes in phrases.items()},
        fact_words={
            kind: {code: tuple(fold(w) for w in listed) for code, listed in codes.items()}
            for kind, codes in (data.get("fact_words") or {}).items()
        },
    )


def bilingual_synonyms() -> list[list[str]]:
    """The English <-> Spanish synonym groups (none when the seed folder has no such file)."""
    path = seed_dir() / SYNONYMS_FILE
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [list(group) for group in data.get("groups") or []]


@lru_cache(maxsize=1)
def stop_words() -> tuple[str, ...]:
    """The English and Spanish stop words (the Snowball lists PostgreSQL ships), folded, once
    each, sorted."""
    found: set[str] = set()
    for name in STOP_WORD_LISTS:
        text = (seed_dir() / "stop_words" / f"{name}.txt").read_text(encoding="utf-8")
        lines = (line.strip() for line in text.splitlines())
        found.update(fold(line) for line in lines if line and not line.startswith("#"))
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def search_stop_words() -> frozenset[str]:
    """The stop words a search leaves out: the lists, less the vocabulary's own words ("son" is
    Spanish for "are", and English for a searcher's child)."""
    return frozenset(stop_words()) - vocabulary().vocabulary_words()

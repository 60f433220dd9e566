"""The search vocabulary from ``seed_data/search.yaml``: need keywords, synonyms, crisis terms.

Text is compared folded: lower case, accents removed, split into words, so "Suicidio" and
"suicidio", "autolesión" and "autolesion" are the same, and "skills" never contains "kill".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import yaml

from directory.listings.vocabularies import seed_dir

WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without accents ("Autolesión" -> "autolesion")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of a text."""
    return WORD.findall(fold(text))


@dataclass(frozen=True)
class Vocabulary:
    need_keywords: dict[str, tuple[str, ...]]
    synonyms: tuple[tuple[str, ...], ...]
    crisis_phrases: tuple[tuple[str, ...], ...]  # each phrase as its folded words
    first_lines: dict[str, tuple[str, str]]  # country -> (source, external_id)

    def signals_crisis(self, text: str | None) -> bool:
        """Whether a query contains a crisis phrase, matched on whole words."""
        if not text:
            return False
        found = words(text)
        for phrase in self.crisis_phrases:
            size = len(phrase)
            if any(tuple(found[i : i + size]) == phrase for i in range(len(found) - size + 1)):
                return True
        return False

    def synonyms_of(self, word: str) -> tuple[str, ...]:
        """The other words of the synonym groups a folded word belongs to."""
        return tuple(
            other for group in self.synonyms if word in group for other in group if other != word
        )


@lru_cache
def vocabulary() -> Vocabulary:
    """The vocabulary, read once."""
    data = yaml.safe_load((seed_dir() / "search.yaml").read_text(encoding="utf-8"))
    return Vocabulary(
        need_keywords={
            code: tuple(fold(k) for k in keywords)
            for code, keywords in data["need_keywords"].items()
        },
        synonyms=tuple(tuple(fold(w) for w in group) for group in data["synonyms"]),
        crisis_phrases=tuple(
            tuple(words(phrase)) for phrases in data["crisis_terms"].values() for phrase in phrases
        ),
        first_lines={
            country.upper(): (line["source"], line["external_id"])
            for country, line in data["first_line_by_country"].items()
        },
    )

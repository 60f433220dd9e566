"""Needs read from a listing's own words, for files that give none.

Some files carry no needs at all: a locator CSV without ``type_facility``, HSDS services without
taxonomy terms. Such a listing would never match a search by need, so its needs are looked for in
its name, alternate name and description with the phrase table
``seed_data/mappings/need_words.yaml`` (English and Spanish, precise phrases only).

What is found goes into the document's ``needs`` and, marked, into ``inferred_needs``: the
listing says they were inferred from its name and description, not given by its source. A
document that has any need is left as it is: the source's word wins, and a guess never adds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from directory.ingest.mappings import mapping
from directory.ingest.records import Normalised
from directory.search.vocabulary import words

TABLE = "need_words"
INFERRED = "inferred_needs"  # the document field that marks inferred needs
TEXT_FIELDS = ("name", "alternate_name", "description")
NEGATIONS = frozenset({"not", "without", "nor", "sin"})  # up to three words before a phrase
NEGATION_RIGHT_BEFORE = frozenset({"no"})  # "no detox", but "no cost detox" still counts
NEGATION_REACH = 3


@dataclass(frozen=True)
class Phrase:
    """A phrase of the table as folded words; a word ending in ``*`` matches any ending."""

    need: str
    words: tuple[str, ...]

    def at(self, text: list[str], start: int) -> bool:
        """Whether the phrase is in ``text`` from word ``start``."""
        if start + len(self.words) > len(text):
            return False
        return all(
            text[start + i].startswith(word[:-1]) if word.endswith("*") else text[start + i] == word
            for i, word in enumerate(self.words)
        )


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A table phrase as folded words, keeping a final ``*`` ("Adolescent*" -> adolescent*)."""
    found: list[str] = []
    for token in phrase.split():
        parts = words(token.rstrip("*"))
        if token.endswith("*") and parts:
            parts[-1] += "*"
        found.extend(parts)
    return tuple(found)


@dataclass(frozen=True)
class Table:
    """The phrases by their first word (those starting with a ``*`` word apart), and the needs
    in table order."""

    by_first: dict[str, tuple[Phrase, ...]]
    open_first: tuple[Phrase, ...]
    order: dict[str, int]

    def starting(self, word: str) -> list[Phrase]:
        """The phrases whose first word can be ``word``."""
        return [
            *self.by_first.get(word, ()),
            *(p for p in self.open_first if word.startswith(p.words[0][:-1])),
        ]


_compiled: list[tuple[dict[str, Any], Table]] = []


def table() -> Table:
    """The phrase table (rebuilt when ``mappings.reload`` has the YAML read again)."""
    data = mapping(TABLE)
    if not _compiled or _compiled[0][0] is not data:
        found = [
            Phrase(need, phrase_words(str(text)))
            for need, texts in data["needs"].items()
            for text in texts
        ]
        by_first: dict[str, list[Phrase]] = {}
        for phrase in found:
            if phrase.words and not phrase.words[0].endswith("*"):
                by_first.setdefault(phrase.words[0], []).append(phrase)
        compiled = Table(
            by_first={word: tuple(group) for word, group in by_first.items()},
            open_first=tuple(p for p in found if p.words and p.words[0].endswith("*")),
            order={need: index for index, need in enumerate(data["needs"])},
        )
        _compiled[:] = [(data, compiled)]
    return _compiled[0][1]


def needs_in(text: str) -> list[str]:
    """The needs the phrases of a text name, in table order, each once."""
    phrases = table()
    found = words(text)
    named = {
        phrase.need
        for start, word in enumerate(found)
        for phrase in phrases.starting(word)
        if phrase.at(found, start) and not _negated(found, start)
    }
    return sorted(named, key=phrases.order.__getitem__)


def _negated(text: list[str], start: int) -> bool:
    before = text[max(0, start - NEGATION_REACH) : start]
    return bool(NEGATIONS.intersection(before)) or (
        start > 0 and text[start - 1] in NEGATION_RIGHT_BEFORE
    )


def infer_needs(doc: dict[str, Any], result: Normalised, *, keywords: str | None = None) -> None:
    """Give a document without needs the needs its name and description (and the source's
    ``keywords`` for it, when it has some) name, marked inferred.

    Counts ``needs: inferred`` for a listing that got some, ``needs: none found`` for one that
    stays without; a document that has needs is not touched (and not counted).
    """
    if doc.get("needs"):
        return
    text = " ".join([*(str(doc[name]) for name in TEXT_FIELDS if doc.get(name)), keywords or ""])
    found = needs_in(text)
    if not found:
        result.tally("needs: none found")
        return
    doc["needs"] = found
    doc[INFERRED] = list(found)
    result.tally("needs: inferred")

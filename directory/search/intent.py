"""What a search's words ask for, read the same way for both backends.

A question ("I need help with my anxiety", "¿dónde puede mi hijo recibir terapia?") becomes the
words to rank by (folded, each once, in the question's order, without stop words and filler words
such as "need", "help", "ayuda", "cerca"), the needs its words name through the need keywords
(phrase-aware: "crisis center" names crisis stabilization), and whether it holds a crisis phrase.
A crisis phrase adds the word "crisis" and names the crisis needs, so the crisis services come
back as results as well as in the crisis block, whatever the phrase's own words match.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from directory.search.vocabulary import search_stop_words, vocabulary, words

CRISIS_NEEDS = ("crisis", "suicide-prevention")
CRISIS_TERM = "crisis"
MAX_TERMS = 32


@dataclass(frozen=True)
class Intent:
    terms: tuple[str, ...]  # the words to search and rank by
    needs: dict[str, frozenset[str]]  # need code -> the terms that named it (read-only)
    crisis: bool
    worded: bool  # whether the query had words at all (only stop words: it matches nothing)

    @property
    def need_codes(self) -> list[str]:
        return sorted(self.needs)

    def needs_of(self, term: str) -> list[str]:
        """The needs a term helped name."""
        return sorted(code for code, named in self.needs.items() if term in named)

    def by_importance(self) -> list[str]:
        """The terms, those that name a need first (the crisis word before all), then the rest,
        each group in the question's order."""
        naming = {t for named in self.needs.values() for t in named}
        first = [t for t in self.terms if t == CRISIS_TERM and self.crisis]
        return [
            *first,
            *(t for t in self.terms if t in naming and t not in first),
            *(t for t in self.terms if t not in naming and t not in first),
        ]


@lru_cache(maxsize=4096)
def intent(q: str | None, corrections: tuple[tuple[str, str], ...] = ()) -> Intent:
    """What a query's words ask for (the same answer every time for the same text). With
    ``corrections`` (misspelt word, the word meant), needs are named by the words meant, and
    credited to the words as written ("anxeity" names anxiety)."""
    found = words(q or "")
    known = vocabulary()
    stop = search_stop_words()
    kept = [w for w in dict.fromkeys(found) if w not in stop][:MAX_TERMS]
    terms = [w for w in kept if w not in known.filler] or kept
    content = set(terms)
    needs: dict[str, set[str]] = {}
    meant = dict(corrections)
    for code, positions in known.needs_named([meant.get(w, w) for w in found]).items():
        named = {found[i] for i in positions} & content
        if named:
            needs.setdefault(code, set()).update(named)
    crisis_words = known.crisis_words(found)
    if crisis_words:
        if CRISIS_TERM not in content:
            terms.insert(0, CRISIS_TERM)
        for code in CRISIS_NEEDS:
            needs.setdefault(code, set()).update({CRISIS_TERM, *(crisis_words & content)})
    return Intent(
        terms=tuple(terms),
        needs={code: frozenset(named) for code, named in needs.items()},
        crisis=bool(crisis_words),
        worded=bool(found),
    )

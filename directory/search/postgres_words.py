"""What the postgres index knows about a query's words: each word's lexemes (English, Spanish,
simple), whether the index has it and the nearest word it has (a typo's correction), the groups
a query's terms make with their synonyms, and how many documents have each (a word's rarity,
its weight in relevance). Answers are kept a few minutes: the same words come back all day.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.search.vocabulary import vocabulary

DF_CAP = 2000  # document frequencies are counted up to this many (a common word is common)
CACHE_TTL_S = 300.0  # how long a word's analysis and frequency are trusted


def idf(found: int, total: int) -> float:
    """A word's weight from how many documents have it (BM25's IDF, never below a small floor)."""
    total = max(total, found, 1)
    return max(math.log(1 + (total - found + 0.5) / (found + 0.5)), 0.05)


Alternatives = tuple[tuple[str, ...], ...]  # lexemes ANDed within, ORed across


def tsquery(alternatives: Alternatives, weight: str = "") -> str:
    """A tsquery's text: any of the alternatives (each all of its lexemes), restricted to
    these weights when given. Lexemes are quoted (a quote doubled, a backslash escaped)."""

    def lexeme(value: str) -> str:
        return (
            "'"
            + value.replace("\\", "\\\\").replace("'", "''")
            + "'"
            + (f":{weight}" if weight else "")
        )

    return " | ".join(
        "(" + " & ".join(lexeme(v) for v in alternative) + ")" for alternative in alternatives
    )


def word_groups(
    session: Session, terms: Sequence[str]
) -> tuple[dict[str, Alternatives], tuple[tuple[str, str], ...]]:
    """Each term's lexemes (English, Spanish, simple) with its synonyms' and, when the index does
    not know it, its correction's; terms with none are left out. And the corrections made."""
    analysed = _analysed(session, terms, correct=True)
    options: dict[str, list[str]] = {}
    corrections: list[tuple[str, str]] = []
    for term in terms:
        if term not in analysed:
            continue
        known, nearest, _ = analysed[term]
        found = [term, *vocabulary().synonyms_of(term)]
        if not known and nearest:
            found += [nearest, *vocabulary().synonyms_of(nearest)]
            corrections.append((term, nearest))
        options[term] = list(dict.fromkeys(found))
    lexemes = _analysed(session, [o for found in options.values() for o in found], correct=False)
    groups: dict[str, Alternatives] = {}
    for term, found in options.items():
        alternatives = tuple(dict.fromkeys(a for o in found if o in lexemes for a in lexemes[o][2]))
        if alternatives:
            groups[term] = alternatives
    return groups, tuple(corrections)


# word -> (read at, indexed?, nearest indexed word, lexemes, corrected?): the same words come
# back all day, and a stale answer only widens or narrows a typo's correction for a few minutes.
Analysis = tuple[bool, str | None, Alternatives]
_ANALYSED: dict[str, tuple[float, bool, str | None, Alternatives, bool]] = {}
# tsquery text -> (read at, documents having it, up to DF_CAP); "" -> documents in the index
_FREQUENCIES: dict[str, tuple[float, int]] = {}


def forget() -> None:
    """Drop what was learnt about words (tests whose index changes under them)."""
    _ANALYSED.clear()
    _FREQUENCIES.clear()


def _analysed(session: Session, wanted: Sequence[str], *, correct: bool) -> dict[str, Analysis]:
    """Each word: whether the index has it, its nearest indexed word (when ``correct``), and its
    lexemes in the three configurations (English, Spanish, simple; a stop word has fewer)."""
    wanted = list(dict.fromkeys(w for w in wanted if len(w) <= 64))
    now = time.monotonic()
    fresh = {
        w: hit
        for w in wanted
        if (hit := _ANALYSED.get(w)) and now - hit[0] < CACHE_TTL_S and (hit[4] or not correct)
    }
    missing = [w for w in wanted if w not in fresh]
    if missing:
        if len(_ANALYSED) > 50_000:
            _ANALYSED.clear()
        for word, known, nearest, english, spanish, simple in _analyse(session, missing, correct):
            found = (tuple(english), tuple(spanish), tuple(simple))
            alternatives = tuple(dict.fromkeys(a for a in found if a))
            fresh[word] = _ANALYSED[word] = (now, known, nearest, alternatives, correct)
    return {w: fresh[w][1:4] for w in wanted if w in fresh}


def _analyse(session: Session, wanted: list[str], correct: bool) -> Sequence[Any]:
    return session.execute(
        text(
            """
            SELECT w.q, k.known,
                CASE WHEN :correct AND NOT k.known AND length(w.q) >= 4 THEN (
                    SELECT s.word FROM search_word s WHERE s.word % w.q
                    ORDER BY similarity(s.word, w.q) DESC, s.word LIMIT 1) END AS nearest,
                tsvector_to_array(to_tsvector('english', w.q)) AS english,
                tsvector_to_array(to_tsvector('spanish', w.q)) AS spanish,
                tsvector_to_array(to_tsvector('simple', w.q)) AS simple
            FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(q, n)
            CROSS JOIN LATERAL (
                SELECT EXISTS (SELECT 1 FROM search_word s WHERE s.word = w.q) AS known) k
            ORDER BY w.n
            """
        ),
        {"words": wanted, "correct": correct},
    ).all()


def count_matches(session: Session, queries: list[str]) -> tuple[dict[str, int], int]:
    """How many documents match each tsquery (up to ``DF_CAP``), and how many the index holds."""
    now = time.monotonic()
    wanted = list(dict.fromkeys(["", *queries]))
    fresh = {
        q: hit[1] for q in wanted if (hit := _FREQUENCIES.get(q)) and now - hit[0] < CACHE_TTL_S
    }
    missing = [q for q in wanted if q not in fresh and q]
    if missing or "" not in fresh:
        if len(_FREQUENCIES) > 50_000:
            _FREQUENCIES.clear()
        rows = session.execute(
            text(
                """
                SELECT x.q, (
                    SELECT count(*) FROM (
                        SELECT 1 FROM search_document d
                        WHERE d.tsv @@ CAST(x.q AS tsquery) LIMIT :cap) s) AS found
                FROM unnest(CAST(:queries AS text[])) AS x(q)
                UNION ALL
                SELECT '', CASE WHEN c.reltuples >= 10000 THEN c.reltuples::bigint
                    ELSE (SELECT count(*) FROM search_document) END
                FROM pg_class c WHERE c.oid = 'search_document'::regclass
                """
            ),
            {"queries": missing, "cap": DF_CAP},
        ).all()
        for q, found in rows:
            if q and found >= DF_CAP:  # common: the planner's estimate says how common
                found = max(found, _estimate(session, q))
            fresh[q] = found
            if found or not q:  # a word no document has yet is asked again: it may come
                _FREQUENCIES[q] = (now, found)
    return {q: fresh[q] for q in queries}, fresh[""]


def _estimate(session: Session, q: str) -> int:
    """How many documents match a tsquery, as the planner estimates it (from the statistics
    ANALYZE keeps of the commonest lexemes): counting a common word exactly costs too much."""
    plan = session.execute(
        text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_document WHERE tsv @@ CAST(:q AS tsquery)"
        ),
        {"q": q},
    ).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])

"""The crisis rule's phrase matching: whole words, any case, accents ignored."""

from __future__ import annotations

import pytest

from directory.search.vocabulary import fold, vocabulary

MUST_TRIGGER = [
    "I want to kill myself",
    "my brother is having a mental health crisis",
    "crisis de salud mental",
    "psychiatric emergency walk-in",
    "thinking about SUICIDE",
    "suicidal thoughts",
    "my son is self-harming? self harm groups",
    "self-harm",
    "cutting myself again",
    "overdose",
    "friend had an overdose last night",
    "I want to die",
    "better off dead",
    "no quiero vivir",
    "No Quiero Vivir más",
    "quiero morirme",
    "pensando en suicidio",
    "autolesión",
    "autolesion",
    "sobredosis de fentanilo",
    "quitarme la vida",
    "pensamientos suicidas",  # a phrase's plural
    "overdoses",
]
MUST_NOT_TRIGGER = [
    "skills group",
    "DBT skills training",
    "killer whale",
    "painkiller management",
    "food pantry",
    "suicide-free",  # a whole word: "suicide" then "free"... see below
    "overdo it",
    "harmony counseling",
    "self care",
    "die casting job",
    "vivir sin drogas",
    "morning group",
    "crisis",  # a mentor browsing crisis services, not a risk signal by itself
    "",
]


@pytest.mark.parametrize("phrase", MUST_TRIGGER)
def test_risk_phrases_trigger(phrase: str) -> None:
    assert vocabulary().signals_crisis(phrase)


@pytest.mark.parametrize("phrase", [p for p in MUST_NOT_TRIGGER if p != "suicide-free"])
def test_ordinary_words_do_not_trigger(phrase: str) -> None:
    assert not vocabulary().signals_crisis(phrase)


def test_a_risk_word_joined_by_a_hyphen_still_counts() -> None:
    assert vocabulary().signals_crisis("suicide-free")  # "suicide" is a whole word in it


def test_fold_removes_case_and_accents() -> None:
    assert fold("Autolesión ÉXITO") == "autolesion exito"

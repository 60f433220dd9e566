"""English and Spanish: the Babel catalogues (compiled in memory at start) and the choice of
language per request (the person's switch, remembered in a cookie, else the browser's)."""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("en", "es")
DEFAULT = "en"
LANG_COOKIE = "dir_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
NAMES = {"en": "English", "es": "Español"}


@lru_cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of a language (English is the source language: no catalogue)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


@lru_cache
def locale(lang: str) -> Locale:
    return Locale.parse(lang)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The page language: the remembered choice, else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(",")[:10]:
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    return negotiate_locale(wanted, list(LANGUAGES), sep="_") or DEFAULT

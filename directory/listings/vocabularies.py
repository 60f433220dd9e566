"""Controlled vocabularies: ISO 639 languages, ISO 3166 regions, accessibility codes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import available_timezones

import pycountry
import yaml

from directory.config import get_settings

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
COUNTRY_CODES = sorted(c.alpha_2 for c in pycountry.countries)  # what country() takes (any case)


def seed_dir() -> Path:
    """The seed folder (``DIRECTORY_SEED_DIR``): every reader of seed files goes through it."""
    return get_settings().seed_dir


@lru_cache
def accessibility_codes() -> dict[str, str]:
    """The fixed accessibility list: code -> label."""
    rows = yaml.safe_load((seed_dir() / "accessibility.yaml").read_text())
    return {row["code"]: row["label"] for row in rows}


@lru_cache(maxsize=4096)
def language(code: str) -> tuple[str, str]:
    """(canonical code, English name) of an ISO 639 code: 639-1 where one exists, else 639-3."""
    text = code.strip().lower()
    found = None
    if len(text) == 2:
        found = pycountry.languages.get(alpha_2=text)
    elif len(text) == 3:
        found = pycountry.languages.get(alpha_3=text) or pycountry.languages.get(bibliographic=text)
    if found is None:
        raise ValueError(f"not an ISO 639 language code: {code!r}")
    return getattr(found, "alpha_2", None) or found.alpha_3, found.name


@lru_cache(maxsize=4096)
def language_code(text: str) -> str:
    """The canonical code of a language given by code or English name ("Spanish" -> "es")."""
    try:
        return language(text)[0]
    except ValueError:
        try:
            found = pycountry.languages.lookup(text.strip())
        except LookupError:
            raise ValueError(f"not an ISO 639 language code or name: {text!r}") from None
        return language(getattr(found, "alpha_2", None) or found.alpha_3)[0]


@lru_cache(maxsize=4096)
def region(code: str) -> str:
    """A canonical ISO 3166-1 alpha-2 or ISO 3166-2 code (``US``, ``US-FL``)."""
    text = code.strip().upper()
    if "-" in text:
        if pycountry.subdivisions.get(code=text) is None:  # type: ignore[no-untyped-call]
            raise ValueError(f"not an ISO 3166-2 region code: {code!r}")
    elif len(text) != 2 or pycountry.countries.get(alpha_2=text) is None:
        raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {code!r}")
    return text


@lru_cache(maxsize=4096)
def country(code: str) -> str:
    """A canonical ISO 3166-1 alpha-2 country code."""
    text = region(code)
    if "-" in text:
        raise ValueError(f"not a country code: {code!r}")
    return text


@lru_cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone(name: str) -> str:
    """An IANA time zone name."""
    if name not in _timezones():
        raise ValueError(f"not an IANA time zone: {name!r}")
    return name


def byday(value: str) -> str:
    """An RRULE BYDAY list such as ``MO,TU,WE``."""
    days = [d.strip().upper() for d in value.split(",") if d.strip()]
    bad = [d for d in days if d.lstrip("+-0123456789") not in DAYS]
    if not days or bad:
        raise ValueError(f"BYDAY must list days from {','.join(DAYS)}: {value!r}")
    return ",".join(days)

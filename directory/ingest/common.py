"""Small normalisation helpers shared by the format readers."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from directory.ingest.records import Normalised
from directory.listings.phones import parse_phone

MISSING = {"", "na", "n/a", "null", "none", "nan", "-", "--"}
SPACES = re.compile(r"\s+")


def clean(value: Any) -> str | None:
    """A trimmed string, or None for blanks and the usual spellings of "missing" (NA, N/A...)."""
    if value is None:
        return None
    text = SPACES.sub(" ", str(value)).strip()
    return None if text.lower() in MISSING else text


def zip5(value: Any) -> str | None:
    """A five-digit US ZIP, restoring leading zeros lost by spreadsheets (6708 -> 06708)."""
    text = clean(value)
    if text is None:
        return None
    digits = text.split("-")[0].split(".")[0].strip()
    if not digits.isdigit() or len(digits) > 5:
        return None
    return digits.zfill(5)


def derived_id(*parts: Any) -> str:
    """A stable external id from a record's identifying values (for rows without an id)."""
    key = "\x1f".join(SPACES.sub(" ", str(p or "")).strip().casefold() for p in parts)
    return "h-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def phone_entry(
    text: Any,
    result: Normalised,
    field: str,
    *,
    country: str = "US",
    type_: str = "voice",
    description: str | None = None,
) -> dict[str, Any] | None:
    """A phone document for a number as printed (extension split off), or None with a warning."""
    number = clean(text)
    if number is None:
        return None
    split = _split_extension(number, country)
    if split is None:
        result.warn(field, f"not a valid phone number in {country}: {number!r}")
        return None
    number, extension = split
    entry: dict[str, Any] = {"number": number, "country": country, "type": type_}
    if extension:
        entry["extension"] = extension
    if description:
        entry["description"] = description
    return entry


@lru_cache(maxsize=65_536)
def _split_extension(number: str, country: str) -> tuple[str, str | None] | None:
    """(number, extension) when the number is dialable in the country, else None."""
    try:
        extension = parse_phone(number, country).extension
    except ValueError:
        return None
    if extension:
        number = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$", number)[0].strip()
    return number, extension


def url(value: Any) -> str | None:
    """A URL with a scheme (``www.x.org`` -> ``http://www.x.org``), or None."""
    text = clean(value)
    if text is None or " " in text or "." not in text:
        return None
    return text if re.match(r"(?i)^https?://", text) else f"http://{text}"

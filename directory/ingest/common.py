"""Small normalisation helpers shared by the format readers."""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import Any

from directory.ingest.records import Ignored, Normalised
from directory.listings.phones import parse_phone

MISSING = {"", "na", "n/a", "null", "none", "nan", "-", "--"}
SPACES = re.compile(r"\s+")


def clean(value: Any) -> str | None:
    """A trimmed string, or None for blanks and the usual spellings of "missing" (NA, N/A...)."""
    if value is None:
        return None
    text = str(value)
    # Printable text has no whitespace but the space (\s is the space, control characters and
    # Unicode separators): with no two spaces in a row there is nothing to fold, and the
    # substitution, a fifth of the time of this function called ~50 times a record, is skipped.
    if not text.isprintable() or "  " in text:
        text = SPACES.sub(" ", text)
    text = text.strip()
    return None if text.lower() in MISSING else text


_ESCAPED_BREAK = re.compile(r"\\r\\n|\\n|\\r")  # a line break written as the two characters \n
_BREAK_TAG = re.compile(r"(?i)<\s*(?:br|/p|p|/div|div|li)\b[^<>]{0,200}>")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^<>]{0,500}>")


def tidy(value: Any) -> Any:
    """Free text without export debris: a literal ``\\n`` becomes a line break, HTML tags go
    (breaks and paragraphs become line breaks) and entities are decoded ("&amp;" -> "&")."""
    if not isinstance(value, str) or not ("\\" in value or "<" in value or "&" in value):
        return value
    text = _ESCAPED_BREAK.sub("\n", value).replace("\\t", " ")
    if "<" in text:
        text = _TAG.sub("", _BREAK_TAG.sub("\n", text))
    return html.unescape(text) if "&" in text else text


def unread_columns(file: str, filled: Counter[str], used: Collection[str]) -> Iterator[Ignored]:
    """The columns of a file that nothing reads, each with the rows where it holds a value."""
    for column, rows in filled.items():
        if column not in used and rows:
            yield Ignored(file, column or "(unnamed column)", rows, "column not imported")


def zip5(value: Any) -> str | None:
    """A five-digit US ZIP, restoring leading zeros lost by spreadsheets (6708 -> 06708)."""
    text = clean(value)
    if text is None:
        return None
    digits = text.split("-")[0].split(".")[0].strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 5:
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


# An extension printed after the number: "x301", "ext. 12", "Ext: 4", "xOPT2", ", option 2".
_EXTENSION = re.compile(
    r"(?i)^(?P<number>.*?[\d)])[\s,;]*"
    r"(?:(?:x|ext\.?|extension)\s*:?\s*(?P<ext>[a-z0-9#*-]{1,20})"
    r"|(?P<option>(?:option|opt\.?|press)\s*\d{1,3}))\s*$"
)


@lru_cache(maxsize=65_536)
def _split_extension(number: str, country: str) -> tuple[str, str | None] | None:
    """(number, extension) when the number is dialable in the country, else None. The
    extension is kept as written (text: "OPT2", "option 2"), the number without it."""
    found = _EXTENSION.match(number)
    if found is not None:
        head = found.group("number").strip(" ,;")
        try:
            parse_phone(head, country)
            return head, found.group("ext") or found.group("option")
        except ValueError:
            pass  # "1-800-XTRA-HELP": the letters are the number's, not an extension
    try:
        parsed = parse_phone(number, country)
    except ValueError:
        return None
    if parsed.extension:  # a form phonenumbers reads and we do not ("#5")
        number = re.split(r"(?i)\s*(?:#|ext\.?|extension)\s*\d+\s*$", number)[0].strip()
    return number, parsed.extension


def url(value: Any) -> str | None:
    """A URL with a scheme (``www.x.org`` -> ``http://www.x.org``), or None."""
    text = clean(value)
    if text is None or " " in text or "." not in text:
        return None
    return text if re.match(r"(?i)^https?://", text) else f"http://{text}"

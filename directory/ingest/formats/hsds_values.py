"""Plain values for the HSDS normaliser: text cut to length, URLs, email addresses and countries.

Each helper turns one raw value (or a list of parts) into what ``ServiceCreate`` accepts, or
``None`` (or fewer parts) when there is nothing usable; a value that is dropped, cut or guessed
says so as a warning on the ``Normalised`` result, under the field it came from, so that the
normaliser never fails on a value.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
import pycountry
from pydantic import BaseModel, HttpUrl, TypeAdapter, ValidationError

from directory.ingest import common
from directory.ingest.records import Normalised
from directory.listings import vocabularies
from directory.listings.schemas import MAX_ITEMS

SHORT, LONG = 500, 20_000
_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _short(value: Any, result: Normalised | None = None, field: str = "") -> str | None:
    text = common.clean(common.tidy(value))
    if text is not None and len(text) > SHORT:
        if result is not None:
            result.warn(field, f"cut to {SHORT} characters")
        text = text[: SHORT - 1].rstrip() + "…"
    return text


_BLANKS = re.compile(r"[ \t\f\v]+")
_BREAKS = re.compile(r"\n{3,}")


def _long(value: Any) -> str | None:
    """Free text with its paragraphs kept (``clean`` would fold the line breaks)."""
    if value is None:
        return None
    text = common.tidy(str(value))
    lines = [_BLANKS.sub(" ", line).strip() for line in text.splitlines()]
    text = _BREAKS.sub("\n\n", "\n".join(lines)).strip()
    if common.clean(text) is None:
        return None
    return text if len(text) <= LONG else text[: LONG - 1].rstrip() + "…"


def _url(value: Any, result: Normalised, field: str) -> str | None:
    text = common.url(value)
    if text is None:
        if common.clean(value):
            result.warn(field, f"not a URL: {common.clean(value)!r}")
        return None
    try:
        _URL.validate_python(text)
    except ValidationError:
        result.warn(field, f"not a URL: {text!r}")
        return None
    return text


def _email(value: Any, result: Normalised, field: str) -> str | None:
    text = _short(value)
    if text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        result.warn(field, f"not an email address: {text!r}")
        return None
    return text


def _valid(model: type[BaseModel], doc: dict[str, Any], result: Normalised, field: str) -> bool:
    """Whether a part validates; a part that does not is dropped with the reason as a warning."""
    try:
        model.model_validate(doc)
    except (ValidationError, ValueError) as error:
        reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        result.warn(field, f"dropped as invalid: {reason} in {doc!r:.120}")
        return False
    return True


def _cap(items: list[Any], field: str, result: Normalised) -> list[Any]:
    """The first items a listing may hold (``MAX_ITEMS``, the API's own limits), with a warning:
    a longer list would have the whole record rejected by the listing's schema."""
    limit = MAX_ITEMS[field]
    kept = [item for item in items if item]
    if len(kept) > limit:
        result.warn(field, f"kept the first {limit}: {len(kept)} given")
    return kept[:limit]


def _country(value: Any, result: Normalised) -> str:
    text = common.clean(value)
    if text is None:
        return "US"
    try:
        return vocabularies.country(text)
    except ValueError:
        try:
            return str(pycountry.countries.lookup(text).alpha_2)
        except LookupError:
            result.warn("locations.address", f"unknown country, read as US: {text!r}")
            return "US"


def _phone_country(number: str, default: str) -> str:
    """The country an international number (+44 ...) belongs to, else the default."""
    if not number.startswith("+"):
        return default
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return default
    return region if region and region != "ZZ" else default

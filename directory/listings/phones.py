"""Phone numbers: parsed per country with ``phonenumbers``, stored dialable.

Ordinary numbers get their E.164 form and a ``tel:`` URI as a phone in that country
dials them. Short codes such as 988, 741741 or
116 123 have no E.164 form, but phones dial them: they get ``tel:988``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, shortnumberinfo


@dataclass(frozen=True)
class DialableNumber:
    e164: str | None
    display: str
    tel_uri: str
    short_code: bool


@lru_cache(maxsize=65_536)  # imports parse the same numbers several times over
def parse_phone(number: str, country: str) -> DialableNumber:
    """Parse a number as printed in ``country``; ValueError when it is not a real number there."""
    text = number.strip()
    if not text or len(text) > 40:
        raise ValueError("a phone number must be 1 to 40 characters")
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number: {text!r} ({error})") from None
    if phonenumbers.is_valid_number(parsed):
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        region = phonenumbers.region_code_for_number(parsed)
        style = (
            PhoneNumberFormat.NATIONAL
            if region == country.upper()
            else (PhoneNumberFormat.INTERNATIONAL)
        )
        # How a phone in the country dials it: +E.164 where that works, the national form
        # where it does not (Australian 13 numbers, Irish 1800 numbers).
        dialled = phonenumbers.format_number_for_mobile_dialing(parsed, country.upper(), False)
        display = phonenumbers.format_number(parsed, style)
        return DialableNumber(e164, display, f"tel:{dialled or e164}", False)
    if shortnumberinfo.is_valid_short_number_for_region(parsed, country.upper()):
        digits = phonenumbers.national_significant_number(parsed)
        return DialableNumber(None, text, f"tel:{digits}", True)
    raise ValueError(f"not a valid phone number in {country.upper()}: {text!r}")

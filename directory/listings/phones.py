"""Phone numbers: parsed per country with ``phonenumbers``, stored dialable.

Ordinary numbers get their E.164 form and a ``tel:`` URI as a phone in that country
dials them. Short codes such as 988, 741741 or
116 123 have no E.164 form, but phones dial them: they get ``tel:988``. A few real short codes
missing from phonenumbers' data are listed per country in ``seed_data/short_codes.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import yaml
from phonenumbers import PhoneNumberFormat, shortnumberinfo

from directory.listings.vocabularies import seed_dir


@dataclass(frozen=True)
class DialableNumber:
    e164: str | None
    display: str
    tel_uri: str
    short_code: bool
    extension: str | None = None  # "x301" printed after the number, split off


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
    region = country.upper()
    if phonenumbers.is_valid_number_for_region(parsed, region):  # the common case, checked first
        return _dialable(parsed, region, international=False)
    if phonenumbers.is_valid_number(parsed):  # a foreign number (+44 ... printed in a US list)
        return _dialable(parsed, region, international=True)
    if shortnumberinfo.is_valid_short_number_for_region(parsed, country.upper()):
        digits = phonenumbers.national_significant_number(parsed)
        return DialableNumber(None, text, f"tel:{digits}", True)
    digits = re.sub(r"[\s.()-]", "", text)
    if digits in known_short_codes().get(region, {}):
        return DialableNumber(None, text, f"tel:{digits}", True)
    raise ValueError(f"not a valid phone number in {country.upper()}: {text!r}")


@lru_cache
def known_short_codes() -> dict[str, dict[str, str]]:
    """Short codes phonenumbers does not know, by country: ``seed_data/short_codes.yaml``."""
    data = yaml.safe_load((seed_dir() / "short_codes.yaml").read_text(encoding="utf-8")) or {}
    return {
        str(country).upper(): {str(k): str(v) for k, v in codes.items()}
        for country, codes in data.items()
    }


def _dialable(
    parsed: phonenumbers.PhoneNumber, region: str, *, international: bool
) -> DialableNumber:
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    style = PhoneNumberFormat.INTERNATIONAL if international else PhoneNumberFormat.NATIONAL
    display = phonenumbers.format_number(parsed, style)
    extension = parsed.extension or None
    # How a phone in the country dials it: +E.164 where that works, the national form where
    # it does not (Australian 13 numbers, Irish 1800 numbers).
    if international or parsed.country_code == 1:  # every valid NANP number dials as +1...
        return DialableNumber(e164, display, f"tel:{e164}", False, extension)
    dialled = phonenumbers.format_number_for_mobile_dialing(parsed, region, False)
    return DialableNumber(e164, display, f"tel:{dialled or e164}", False, extension)

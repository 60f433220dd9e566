"""Phone numbers are stored dialable: E.164 where they have one, tel: URIs a phone can dial."""

import pytest

from directory.listings.phones import parse_phone


@pytest.mark.parametrize(
    ("number", "country", "e164", "display", "tel"),
    [
        ("988", "US", None, "988", "tel:988"),
        ("741741", "US", None, "741741", "tel:741741"),
        ("116 123", "GB", None, "116 123", "tel:116123"),
        ("116 123", "IE", None, "116 123", "tel:116123"),
        ("1-800-273-8255", "US", "+18002738255", "(800) 273-8255", "tel:+18002738255"),
        ("(813) 555-0142", "US", "+18135550142", "(813) 555-0142", "tel:+18135550142"),
        ("13 11 14", "AU", "+61131114", "13 11 14", "tel:131114"),  # not dialable as +61 13...
        ("1800 247 247", "IE", "+3531800247247", "1800 247 247", "tel:1800247247"),
        ("+44 20 7946 0958", "US", "+442079460958", "+44 20 7946 0958", "tel:+442079460958"),
    ],
)
def test_dialable_forms(
    number: str, country: str, e164: str | None, display: str, tel: str
) -> None:
    parsed = parse_phone(number, country)
    assert (parsed.e164, parsed.display, parsed.tel_uri) == (e164, display, tel)
    assert parsed.short_code is (e164 is None)


@pytest.mark.parametrize("number", ["12", "not a number", "555", "", "1" * 41, "(813) 555-01"])
def test_unparseable_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        parse_phone(number, "US")


@pytest.mark.parametrize(
    ("number", "country"), [("1018", "GR"), ("113", "NL"), ("45645", "CA"), ("1925", "TW")]
)
def test_listed_short_codes_missing_from_phonenumbers_are_dialable(
    number: str, country: str
) -> None:
    parsed = parse_phone(number, country)
    assert parsed.short_code and parsed.tel_uri == f"tel:{number}" and parsed.e164 is None


def test_a_listed_short_code_holds_only_in_its_own_country() -> None:
    with pytest.raises(ValueError, match="not a valid phone number in GR"):
        parse_phone("113", "GR")

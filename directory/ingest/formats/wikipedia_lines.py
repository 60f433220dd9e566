"""The Wikipedia-derived international list of crisis lines: turning one list item's text and
links into a listing (names, numbers per country, text and chat channels, languages, needs).

The article's wording is free text, so these are heuristics, each tested on the real file; the
reading and setting aside of items (emergency numbers, repeats) is in ``crisis_lines``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import phonenumbers
import pycountry
from phonenumbers import shortnumberinfo

from directory.ingest.common import phone_entry, url
from directory.ingest.mappings import mapping
from directory.ingest.records import Normalised, RowRejected
from directory.listings.phones import parse_phone

SOURCE_NOTE = (
    'Source: Wikipedia, "List of suicide crisis lines" (July 2021, CC BY-SA). '
    "Imported from a test fixture: numbers and hours may be out of date."
)
EXTRA_NEEDS = {
    "youth": re.compile(r"(?i)\byouth|\byoung\b|\bchild|juvenile|adolescen|\bteen|\bkids?\b"),
    "lgbtq": re.compile(r"(?i)lgbt|lesbian|\bgay\b|bisexual|transgender|\btrans\b|queer"),
    "veterans": re.compile(r"(?i)veteran|military|service members"),
    "domestic-violence": re.compile(
        r"(?i)domestic violence|violence at home|home violence|victims of violence"
    ),
}
TEXTS = (  # text-message numbers: "texting HOME to 741-741", "SMS ... at 076-...", "45645 (Text"
    re.compile(
        r"\b(?i:text(?:ing)?)\s+(?:(?P<kw>[A-Z][A-Z0-9]+)\b[^.\n]*?\s)?(?i:to)\s+"
        r"(?P<num>\+?\d[\d -]*\d)"
    ),
    re.compile(r"(?i:\bsms\b)[^.\n]*?\b(?i:at|to|on)\s+(?P<num>\+?\d[\d -]*\d)"),
    re.compile(r"(?P<num>\d[\d -]*\d)\s*\((?i:text|sms)\b"),
)
CHAT = re.compile(r"(?i)chat|instant messag")
ALWAYS = re.compile(r"(?i)24/7|24[- ]hours? a day|24-hour|24 ?hrs")
LIMITED = re.compile(
    r"(?i)\b\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\b\d{1,2}[:.h]\d{2}\s*[-\u2013]"
    r"|\bfrom \d|\buntil\b|midnight|weekdays|limited"
)
OBSOLETE = re.compile(r"(?i)no longer|not in use|previous|former|replac")
VANITY = re.compile(r"[A-Z]{3,}\s*\((\d{3,})\)")  # 7989-USAP (8727) -> 7989-8727
CITATION = re.compile(r"\[\d+\]")
TAG = re.compile(r"<[^>]+>")
LINK = re.compile(r'<a\b[^>]*?\bhref="([^"]*)"[^>]*>(.*?)</a>', re.S)
BOLD = re.compile(r"<b>(.*?)</b>", re.S)
TEXT_URL = re.compile(
    r"https?://[^\s)\]<>\"']+|\bwww\.[^\s)\]<>\"']+"
    r"|(?<=\()[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/[^\s)]*)?(?=\))"
)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n")
# Names: "142 is the number of Telefonseelsorge in Austria", "051 / 000 7731 000 - Linka dôvery".
NUMBER_START = re.compile(r"[+(]?\d")
NUMBER_LED = r"(?P<num>[+(]?\d[\d\s()/-]*?)(?:,[^,]+,)?\s+(?:is|are)\s"
NUMBER_IS = re.compile(NUMBER_LED + r"the\s+(?:number\s+of\s+)?(?P<subject>[^.\[(]+)")
NUMBER_DASH = re.compile(r"[+(]?\d[\d\s()/-]*?\s[-\u2013]\s+(?P<subject>[^(\[:.]+)")
SUBJECT_CUT = re.compile(r"\s(?:in|operated by|which|that|who)\s|,")
CUT = re.compile(
    r":|\(|\[|,\s|\.\s|\.$|\s(?:is|are|was|has|can|provides?|offers?|runs|maintains|contains"
    r"|operates|aims|powered|also|by calling)\s"
)
TRAILER = re.compile(
    r"(?i)\s+(?:24\s?hrs|24/7|\d{1,2}\s*(?:am|pm)\s*[-\u2013]\s*\d{1,2}\s*(?:am|pm))$"
)
DESCRIPTOR = re.compile(r"(?i)^(?:by phone|online|in person|for\s|call\b|other\b|the hotline\b)")
GENERIC = {  # words that name no particular line: such a name gets its country
    *("a", "an", "the", "of", "for", "and", "national", "official", "free", "online", "youth"),
    *("suicide", "crisis", "prevention", "hotline", "helpline", "help", "line", "lifeline"),
    *("number", "phone", "telephone", "support", "emotional", "psychological", "mental"),
    "health",
}
ORGANISATION = re.compile(
    r"\b(?:operated|run|powered|founded) by (?:the )?(?:charity )?"
    r"(?P<org>[A-Z][^.,(\[]*?)(?=\s+https?:|\s*[.,(\[]|$)"
)
LANGUAGE_NAMES = r"[A-Z][a-z]+(?:(?:,| and| or) [A-Z][a-z]+)*"
LANGUAGE = re.compile(
    rf"\bin (?:both )?(?P<a>{LANGUAGE_NAMES})"
    rf"|(?P<b>{LANGUAGE_NAMES})(?:-speaking| speakers| speaking|-language| language)\b"
    r"|\((?P<c>[A-Z][a-z]+)\)"
)


def country(name: str) -> tuple[str, str]:
    """(ISO 3166-1 alpha-2 code, display name) of a country as a source names it."""
    table: dict[str, str | None] = mapping("countries")["countries"]
    key = " ".join(name.split())
    if key in table:
        code = table[key]
        if code is None:
            raise RowRejected("country", f"no ISO 3166-1 code for this country: {key}")
    else:
        try:
            code = pycountry.countries.lookup(key).alpha_2
        except LookupError:
            raise RowRejected("country", f"unknown country: {key!r}") from None
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        raise RowRejected("country", f"not an ISO 3166-1 code in countries.yaml: {code}")
    return found.alpha_2, getattr(found, "common_name", None) or found.name


def normalise_wikipedia(raw: dict[str, Any]) -> Normalised:
    """A crisis-line listing for one list item (a draft: the source is a 2021 test fixture)."""
    iso, area = country(str(raw.get("country") or ""))
    text = _plain(str(raw.get("description") or ""))
    result = Normalised({})
    links = _links(raw)
    texts = _text_numbers(text, links, iso, result)
    calls = _call_numbers(raw, text, links, iso, set(texts), result)
    urls = _urls(text, links)
    if not calls and not texts and not urls:
        tried = "; ".join(reason for _, reason in result.warnings)
        reason = "no dialable number or web address" + (f": {tried}" if tried else "")
        raise RowRejected("phones", reason)
    channels = _channels(text, iso, calls, texts, _chat_url(text, urls))
    if not channels:
        result.warn("crisis_channels", "no number or chat in the source: website only")
    phones = [phone_entry(n, result, "phones", country=iso) for n in calls.values()]
    phones += [
        phone_entry(n, result, "phones", country=iso, type_="text") for n, _ in texts.values()
    ]
    name = _service_name(_lead(raw, text), text, area)
    result.doc = {
        "name": name,
        "description": f"{text}\n\n{SOURCE_NOTE}" if text else SOURCE_NOTE,
        "url": urls[0] if urls else None,
        "curation_status": "draft",
        "organization": {"name": _organisation(text) or name},
        "needs": ["crisis", "suicide-prevention"]
        + [need for need, said in EXTRA_NEEDS.items() if said.search(text)],
        "languages": [{"code": code} for code in _languages(text)],
        "phones": [phone for phone in phones if phone is not None],
        "crisis_channels": channels,
        "service_areas": [{"name": area, "regions": [iso]}],
    }
    return result


def _plain(description: str) -> str:
    """The item's text without citation marks ([47]) and with single spaces."""
    lines = (" ".join(CITATION.sub("", line).split()) for line in description.splitlines())
    return "\n".join(line for line in lines if line)


def _links(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """(href, shown text) of every link in the item's HTML."""
    snippet = raw.get("html")
    if not isinstance(snippet, str):
        return []
    return [
        (html.unescape(href).strip(), " ".join(html.unescape(TAG.sub("", shown)).split()))
        for href, shown in LINK.findall(snippet)
    ]


def _text_numbers(
    text: str, links: list[tuple[str, str]], iso: str, result: Normalised
) -> dict[str, tuple[str, str | None]]:
    """Text-message numbers and keywords, by tel URI: "texting HOME to 741-741", sms: links."""
    candidates: dict[str, str | None] = {}
    for found_text in (m for pattern in TEXTS for m in pattern.finditer(text)):
        candidates.setdefault(found_text["num"], found_text.groupdict().get("kw"))
    for href, _ in links:
        if href.lower().startswith("sms:"):
            candidates.setdefault(href[4:], None)
    found: dict[str, tuple[str, str | None]] = {}
    for printed, keyword in candidates.items():
        dialled = _dial(printed, iso, result)
        if dialled is not None:
            found.setdefault(dialled[1], (dialled[0], keyword))
    return found


def _call_numbers(
    raw: dict[str, Any],
    text: str,
    links: list[tuple[str, str]],
    iso: str,
    texts: set[str],
    result: Normalised,
) -> dict[str, str]:
    """Numbers to call, by tel URI: the item's tel: links, then numbers only in its text (the
    number an item starts with, "211 is ...", and full numbers; not those to text)."""
    phones = [p for p in raw.get("phones") or [] if isinstance(p, str)]
    shown = [label for href, label in links if href.lower().startswith("tel:")]
    if len(shown) != len(phones):
        shown = [""] * len(phones)
    linked = [_printed(phone, label) for phone, label in zip(phones, shown, strict=True)]
    current = " ".join(s for s in SENTENCE.split(text) if not OBSOLETE.search(s))
    written = [match.raw_string for match in phonenumbers.PhoneNumberMatcher(current, iso)]
    leading = re.match(NUMBER_LED, text)
    if leading and not phones:
        written.insert(0, leading["num"])
    found: dict[str, str] = {}
    for printed in linked + written:
        dialled = _dial(printed, iso, result)
        if dialled is not None and (printed in linked or dialled[1] not in texts):
            found.setdefault(dialled[1], dialled[0])
    return found


def _printed(href: str, shown: str) -> str:
    """A tel: link's number as printed, undoing the article's templates.

    ``tel:225`` shown as ``50 60 70 225 50 60 70`` is 225 50 60 70; ``tel:(02)`` shown as
    ``8896-9191 (02) 8896-9191`` is (02) 8896-9191.
    """
    number = href.removeprefix("tel:").strip(" .,;")
    label = shown.strip(" .,;")
    doubled = re.fullmatch(rf"(.+?) {re.escape(number)} \1", label)
    if doubled:
        return f"{number} {doubled[1]}"
    if label and re.sub(r"\D", "", label) == re.sub(r"\D", "", number):
        return label
    return number


def _dialable(printed: str, iso: str) -> str | None:
    """The number to store for a number as printed in ``iso``, or None when none dials.

    International forms become +E.164: ``0021 3983 2000 58`` (00 prefix), ``972-9 8891333``
    (country code without +); a number printed twice running (``08000767 08000767``) once.
    """
    text = VANITY.sub(r"\1", printed).strip(" .,;:")
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    candidates = [text]
    if digits.startswith("00"):
        candidates.insert(0, "+" + digits[2:])
    if digits.startswith(str(phonenumbers.country_code_for_region(iso))) and "+" not in text:
        candidates.append("+" + digits)
    half = len(digits) // 2
    if len(digits) % 2 == 0 and digits[:half] == digits[half:]:
        candidates.append(digits[:half])
    for candidate in candidates:
        try:
            parse_phone(candidate, iso)
        except ValueError:
            continue
        return candidate
    return None


def _dial(printed: str, iso: str, result: Normalised) -> tuple[str, str] | None:
    """(number to store, tel URI), or None with a warning (not a number, or an emergency one)."""
    number = _dialable(printed, iso)
    if number is None:
        result.warn("phones", f"not a valid phone number in {iso}: {printed!r}")
        return None
    dialled = parse_phone(number, iso)
    if dialled.short_code and shortnumberinfo.is_emergency_number(number, iso):
        result.warn("phones", f"emergency number set aside: {number}")
        return None
    return number, dialled.tel_uri


def _urls(text: str, links: list[tuple[str, str]]) -> list[str]:
    """Web addresses: the item's links, then those only written in its text (once each), but
    not links to other Wikipedia articles."""
    hrefs = [href for href, _ in links if href.lower().startswith(("http://", "https://"))]
    found: dict[str, str] = {}
    for address in _addresses(" ".join(hrefs)) + _addresses(text):
        if "wikipedia.org" not in address.lower():  # the article's links about a line
            found.setdefault(address.rstrip("/").lower(), address)
    return list(found.values())


def _addresses(text: str) -> list[str]:
    """The web addresses written in a text, with a scheme and without trailing punctuation."""
    cleaned = (url(found.rstrip(".,;:")) for found in TEXT_URL.findall(text))
    return [address for address in cleaned if address]


def _chat_url(text: str, urls: list[str]) -> str | None:
    """The chat's address when the item offers chat: one naming chat, one given beside the
    word, else the line's site."""
    if not urls or not CHAT.search(text):
        return None
    named = [address for address in urls if "chat" in address.lower()]
    beside = [a for s in SENTENCE.split(text) if CHAT.search(s) for a in _addresses(s)]
    return (named + beside + urls)[0]


def _channels(
    text: str,
    iso: str,
    calls: dict[str, str],
    texts: dict[str, tuple[str, str | None]],
    chat: str | None,
) -> list[dict[str, Any]]:
    """Call, text and chat channels; 24/7 only when the text says so and names no hours."""
    always = bool(ALWAYS.search(text)) and not LIMITED.search(text)
    hours: dict[str, Any] = {"hours": "24/7", "open_24_7": True} if always else {}
    channels = [{"channel": "call", "number": n, "country": iso, **hours} for n in calls.values()]
    for number, keyword in texts.values():
        channel = {"channel": "text", "number": number, "country": iso, **hours}
        channels.append({**channel, "keyword": keyword} if keyword else channel)
    if chat is not None:
        channels.append({"channel": "chat", "url": chat, **hours})
    return channels


# --- names --------------------------------------------------------------------------------------


def _lead(raw: dict[str, Any], text: str) -> str | None:
    """The bold words the item starts with: the line's name, in most items of the article."""
    snippet = raw.get("html")
    if not isinstance(snippet, str):
        return None
    for bold in BOLD.findall(snippet):
        words = " ".join(CITATION.sub("", html.unescape(TAG.sub("", bold))).split())
        if words and text.startswith(words):
            return words
    return None


def _service_name(lead: str | None, text: str, area: str) -> str:
    """The bold lead or the first clause of the text, cleaned; qualified by the country when
    it is generic ("Lifeline (Tonga)"); "<Country> crisis line" when nothing names the line."""
    subject = lead if lead and not NUMBER_START.match(lead) else text.split("\n")[0]
    subject = re.sub(r"\(\s*\)", "", TEXT_URL.sub("", subject)).strip(" ,")
    numbered = NUMBER_IS.match(subject) or NUMBER_DASH.match(subject)
    name = SUBJECT_CUT.split(numbered["subject"])[0] if numbered else CUT.split(subject)[0]
    name = TRAILER.sub("", name).strip(" .,:;'\"-\u2013")
    name = re.sub(r"^(.+) \1$", r"\1", name)  # "Mental Helse Mental Helse"
    if len(name) > 80:
        name = re.split(r"\s(?:for|that|who|which|with)\s", name)[0]
    words = set(name.lower().split())
    if not re.search(r"[^\W\d_]", name) or words <= {"a", "the", "phone", "number"}:
        number = NUMBER_START.match(subject) and re.match(r"[+(]?\d[\d\s()/-]*", subject)
        return f"{number.group().strip()} ({area})" if number else f"{area} crisis line"
    if DESCRIPTOR.match(name):
        return f"{area} crisis line ({name[0].lower()}{name[1:]})"
    name = name[0].upper() + name[1:120]
    generic = words <= GENERIC and (len(words) <= 2 or not name.istitle())
    return f"{name} ({area})" if generic else name


def _organisation(text: str) -> str | None:
    """The organisation named as running the line ("operated by X", "powered by X")."""
    found = ORGANISATION.search(text)
    return found["org"].strip()[:200] if found else None


def _languages(text: str) -> list[str]:
    """ISO 639-1 codes of the languages the text names as spoken ("Spanish-speaking", "in
    English and French", "(Finnish)"); none when it names none."""
    codes: dict[str, None] = {}
    for found in LANGUAGE.finditer(text):
        spelled = next(group for group in found.groups() if group)
        for name in re.split(r",| and | or ", spelled):
            code = getattr(pycountry.languages.get(name=name.strip()), "alpha_2", None)
            if code:
                codes.setdefault(code, None)
    return list(codes)

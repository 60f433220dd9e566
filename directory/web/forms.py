"""Forms to documents: what the refer and follow-up forms post, as the referral service's
documents, and validation errors as messages by form field. Dates a mentor picks are days in
the program's time zone (``DIRECTORY_TIME_ZONE``): a follow-up is due at the end of that day's
work, a consent ends at the end of its day."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from directory.errors import DirectoryError
from directory.referrals import lifecycle
from directory.web import vocab

FOLLOW_UP_HOUR = 17
# Validation errors name the document's fields; the form's inputs have these ids.
FIELD_IDS = {
    "follow_up_at": "follow_up",
    "consent_expires_at": "consent_expires",
    "consent_obtained_at": "consent_scope",
    "consent_scope": "consent_scope",
    "consent_method": "consent_scope",
    "consent": "consent_scope",
    "mentee_ref": "mentee_ref",
    "needs": "needs",
    "priority": "priority",
    "contact_preference": "contact_preference",
    "note": "note",
    "next_at": "next-at",
    "reason": "close-reason",
}
# Messages by pydantic error type, for errors that carry no message of ours.
BY_TYPE = {
    "literal_error": vocab.CHOOSE_ONE,
    "missing": vocab.REQUIRED,
    "string_too_short": vocab.REQUIRED,
    "string_too_long": vocab.TOO_LONG,
    "datetime_from_date_parsing": vocab.NOT_A_DATE,
    "datetime_parsing": vocab.NOT_A_DATE,
    "date_parsing": vocab.NOT_A_DATE,
    "date_from_datetime_parsing": vocab.NOT_A_DATE,
}


def day_end(day: str, zone: ZoneInfo, hour: int) -> dt.datetime | str:
    """``hour`` o'clock of a day typed as YYYY-MM-DD, in the zone (the text itself when it is
    not a date: validation then says so)."""
    try:
        return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=zone)
    except ValueError:
        return day


def referral_document(
    form: dict[str, str], needs: list[str], service_id: uuid.UUID, zone: ZoneInfo
) -> dict[str, Any]:
    """The referral document (``ReferralCreate``) from the refer form's fields."""
    expires = form.get("consent_expires")
    return {
        "mentee_ref": form.get("mentee_ref", ""),
        "service_id": service_id,
        "location_id": form.get("location_id") or None,
        "needs": needs,
        "priority": form.get("priority", "routine"),
        "contact_preference": form.get("contact_preference", ""),
        "consent": {
            "scope": form.get("consent_scope", ""),
            "method": form.get("consent_method", ""),
            # When the form was shown: a resent form is the same request (Idempotency-Key).
            "obtained_at": form.get("consent_at") or dt.datetime.now(dt.UTC),
            "expires_at": day_end(expires, zone, 23) if expires else None,
        },
        "note": form.get("note") or None,
        "follow_up_at": day_end(form["follow_up"], zone, FOLLOW_UP_HOUR)
        if form.get("follow_up")
        else None,
    }


EVENT_FIELDS = {
    "status": ("to", "reason", "outcome"),
    "contact-attempt": ("channel", "result"),
    "sub-status": ("value", "date"),
    "follow-up": ("next_at",),
    "note": ("text",),
}


def event_document(form: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """The event document (``EventIn``) from a follow-up form (blank fields left out)."""
    kind = form.get("type", "")
    event: dict[str, Any] = {"type": kind}
    event.update(
        {name: form[name] for name in EVENT_FIELDS.get(kind, ()) if form.get(name, "").strip()}
    )
    if kind == "follow-up" and "next_at" in event:
        event["next_at"] = day_end(event["next_at"], zone, FOLLOW_UP_HOUR)
    return event


# Dates out of the window the referral service takes (the message names the field and the days).
DATE_BOUNDS = (
    (re.compile(r"is before \d{4}: check the year$"), vocab.DATE_TOO_OLD),
    (re.compile(r"days ahead: check the year$"), vocab.DATE_TOO_FAR),
)


def field_errors(error: ValidationError, translate: Callable[[str], str]) -> dict[str, str]:
    """Messages by form input id, in the page's language (``form`` for the rest)."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if not isinstance(part, int)]
        name = "_".join(loc[:2]) if loc[:1] == ["consent"] else (loc[0] if loc else "")
        message = str(item["msg"]).removeprefix("Value error, ")
        if name == "consent" and "expires_at" in message:
            name = "consent_expires_at"
        wanted = BY_TYPE.get(item["type"]) or next(
            (text for pattern, text in DATE_BOUNDS if pattern.search(message)), None
        )
        found.setdefault(FIELD_IDS.get(name, "form"), translate(wanted or message))
    return found


PATTERN = re.compile(r"\(the pattern (.+)\)$")


def refusal(error: DirectoryError, translate: Callable[[str], str]) -> str:
    """What the referral service refused, in the page's language."""
    if error.field == "mentee_ref" and (found := PATTERN.search(error.detail)):
        return translate(vocab.CODE_PATTERN) % {"pattern": found.group(1)}
    if "contact attempts first" in error.detail:
        count = lifecycle.ATTEMPTS_BEFORE_COULD_NOT_CONTACT
        return translate(vocab.ATTEMPTS_FIRST) % {"count": count}
    if "takes no more events" in error.detail:
        return translate(vocab.CLOSED)
    if error.field in vocab.REFUSED:
        return translate(vocab.REFUSED[error.field])
    return translate(error.detail)


def whole_number(text: str | None, *, most: int) -> int | None:
    """A whole number typed or sent in a form or address (ASCII digits, at most ``most``); None
    for anything else (``"²".isdigit()`` is true, and a long string of digits is past what
    ``int`` reads: neither may become a server error)."""
    if not text or len(text) > len(str(most)) or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= most else None

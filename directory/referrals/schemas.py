"""Referral documents: what a mentor sends, and what a reader sees."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from directory.types import (
    APPOINTMENT_AHEAD,
    CONSENT_AHEAD,
    FOLLOW_UP_AHEAD,
    ContactPreference,
    NeedCode,
    Priority,
    ReferralStatus,
    SubStatus,
    within,
)

NO_NUL = r"^[^\x00]*$"
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)
]
MENTEE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")


LETTER_RUN = re.compile(r"[A-Za-z]{5,}")
MAX_DIGITS = 6


def mentee_ref(value: str) -> str:
    """A pseudonymous code, upper-cased: 3-40 letters, digits, ``-`` or ``_``, with a digit,
    at most 6 digits and no run of 5 letters or more (``HP-1042``, ``MNT_2024_17``). Emails,
    phone numbers and names are refused by those rules, not guessed at."""
    text = value.strip()
    if "@" in text:
        raise ValueError("mentee_ref must be the program's code, not an email address")
    if " " in text or not MENTEE_REF.fullmatch(text):
        raise ValueError(
            "mentee_ref must be the program's code: 3-40 letters, digits, '-' or '_', no spaces"
        )
    digits = sum(c.isdigit() for c in text)
    if digits == 0:
        raise ValueError("mentee_ref must contain a digit (a code, not a name)")
    if digits > MAX_DIGITS:
        raise ValueError(
            f"mentee_ref has at most {MAX_DIGITS} digits (it must not be a phone number)"
        )
    if LETTER_RUN.search(text):
        raise ValueError("mentee_ref has no run of 5 letters or more (it must not be a name)")
    return text.upper()


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time with its zone (a time written without one is UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentIn(Strict):
    scope: ShortText  # what the mentee agreed to
    obtained_at: dt.datetime
    method: Literal["verbal", "written"]
    expires_at: dt.datetime | None = None

    @field_validator("obtained_at")
    @classmethod
    def _obtained(cls, value: dt.datetime) -> dt.datetime:
        value = aware(value) or value
        return within(value, ahead=dt.timedelta(minutes=5), what="consent.obtained_at")

    @field_validator("expires_at")
    @classmethod
    def _expires(cls, value: dt.datetime | None) -> dt.datetime | None:
        value = aware(value)
        if value is None:
            return None
        if value <= dt.datetime.now(dt.UTC):
            raise ValueError("the consent has expired: a referral needs consent still in force")
        return within(value, ahead=CONSENT_AHEAD, what="consent.expires_at")

    @model_validator(mode="after")
    def _in_order(self) -> ConsentIn:
        if self.expires_at is not None and self.expires_at <= self.obtained_at:
            raise ValueError("consent.expires_at must come after obtained_at")
        return self


MENTEE_REF_DOC = (
    "The program's pseudonymous code: 3-40 letters, digits, '-' or '_', with 1 to 6 digits and"
    " no run of 5 letters (HP-1042); a program may set a pattern of its own"
)


class ReferralCreate(Strict):
    # The pattern is documented, and checked by the validator below (with kinder messages).
    # The digits and letter runs stay in words: as lookaheads in the pattern, generators of
    # examples (hypothesis) filter out too many of what they draw.
    mentee_ref: str = Field(
        json_schema_extra={"pattern": MENTEE_REF.pattern}, description=MENTEE_REF_DOC
    )
    service_id: uuid.UUID
    location_id: uuid.UUID | None = None
    needs: list[NeedCode] = Field(default_factory=list, max_length=20)
    priority: Priority = "routine"
    contact_preference: ContactPreference
    consent: ConsentIn
    note: ShortText | None = None
    follow_up_at: dt.datetime | None = None

    @field_validator("mentee_ref")
    @classmethod
    def _mentee_ref(cls, value: str) -> str:
        return mentee_ref(value)

    @field_validator("follow_up_at")
    @classmethod
    def _future(cls, value: dt.datetime | None) -> dt.datetime | None:
        value = aware(value)
        if value is not None and value <= dt.datetime.now(dt.UTC):
            raise ValueError("follow_up_at must be in the future")
        return value and within(value, ahead=FOLLOW_UP_AHEAD, what="follow_up_at")


class StatusEvent(Strict):
    type: Literal["status"]
    to: ReferralStatus
    reason: ShortText | None = None
    outcome: str | None = None


class ContactAttempt(Strict):
    type: Literal["contact-attempt"]
    channel: Literal["phone", "text", "email", "in-person", "video", "other"]
    result: Literal["reached", "no-answer", "left-message", "wrong-number", "declined", "other"]


class SubStatusEvent(Strict):
    type: Literal["sub-status"]
    value: SubStatus
    date: dt.date | None = None  # the appointment's date (appointment-scheduled only)

    @field_validator("date")
    @classmethod
    def _near(cls, value: dt.date | None) -> dt.date | None:
        today = dt.date.today()
        if value is not None and value < today - dt.timedelta(days=365):
            raise ValueError("the appointment date is more than a year ago")
        if value is not None and value > today + APPOINTMENT_AHEAD:
            raise ValueError("the appointment date is more than a year ahead: check the year")
        return value

    @model_validator(mode="after")
    def _date(self) -> SubStatusEvent:
        if self.value == "appointment-scheduled":
            if self.date is None:
                raise ValueError("an appointment-scheduled sub-status needs its date")
        elif self.date is not None:
            raise ValueError(f"{self.value} takes no date")
        return self


class FollowUpEvent(Strict):
    type: Literal["follow-up"]
    next_at: dt.datetime

    @field_validator("next_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        return within(aware(value) or value, ahead=FOLLOW_UP_AHEAD, what="next_at")


class NoteEvent(Strict):
    type: Literal["note"]
    text: ShortText


EventIn = Annotated[
    StatusEvent | ContactAttempt | SubStatusEvent | FollowUpEvent | NoteEvent,
    Field(discriminator="type"),
]


class EventRead(BaseModel):
    seq: int
    type: str
    at: dt.datetime
    actor_id: uuid.UUID
    data: dict[str, Any]
    text: str | None


class ReferralRead(BaseModel):
    id: uuid.UUID
    status: str
    version: int
    program_id: uuid.UUID
    mentor_id: uuid.UUID
    mentee_ref: str
    service_id: uuid.UUID
    location_id: uuid.UUID | None
    needs: list[str]
    priority: str
    contact_preference: str
    consent: dict[str, Any]
    note: str | None
    outcome: str | None
    sub_status: str | None
    follow_up_at: dt.datetime
    overdue: bool
    stale: bool  # no event for 14 days
    last_event_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    history: list[EventRead] | None = None


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    page: int
    per_page: int
    total: int

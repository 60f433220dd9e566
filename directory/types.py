"""Constrained types shared by listings, referrals and search, defined once: a listing and a
referral agree on what a need code, a status or a date is. ``Literal`` first; the tuple of its
values comes from it (``STATUSES = get_args(Status)``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, StringConstraints, WithJsonSchema


def _lower(value: Any) -> Any:
    """Text stripped and lower-cased before its pattern is checked (pydantic checks a
    ``StringConstraints`` pattern before its ``to_lower``)."""
    return value.strip().lower() if isinstance(value, str) else value


# A need code (taxonomy term): lower-case letters, digits and hyphens. Any case is read and
# stored lower-case ("Anxiety" is "anxiety"), by a listing, a referral and a search alike.
NEED_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# What a client may send: the code in any case (the before-validator hides the pattern from the
# generated schema, which would otherwise say any string)
_CODE_IN = WithJsonSchema({"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"})
NeedCode = Annotated[
    str,
    BeforeValidator(_lower),
    StringConstraints(pattern=NEED_CODE_PATTERN),
    _CODE_IN,
]
# A cost option as a code (``sliding-scale``): the shape a search filter takes. A listing's
# options are open (an import brings ``cash``, ``veterans-affairs``...): a filter takes the
# common ones below and any a listing has.
CostCode = Annotated[
    str, BeforeValidator(_lower), StringConstraints(pattern=NEED_CODE_PATTERN), _CODE_IN
]
CostOption = Literal[
    "free", "sliding-scale", "medicaid", "medicare", "private-insurance", "self-pay"
]
COST_OPTIONS: tuple[CostOption, ...] = get_args(CostOption)

# Listings (HSDS service.status, and our own curation state)
ServiceStatus = Literal["active", "inactive", "defunct", "temporarily closed"]
SERVICE_STATUSES: tuple[ServiceStatus, ...] = get_args(ServiceStatus)
CurationStatus = Literal["draft", "published", "archived"]
CURATION_STATUSES: tuple[CurationStatus, ...] = get_args(CurationStatus)
# HSDS 3.1 service_capacity / FHIR SDOH: whether the service takes new clients, as last heard
CapacityStatus = Literal["accepting", "waitlist", "full", "unknown"]
CAPACITY_STATUSES: tuple[CapacityStatus, ...] = get_args(CapacityStatus)

# Referrals (FHIR Task, HL7 SDOH Clinical Care)
ReferralStatus = Literal[
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "entered-in-error",
]
REFERRAL_STATUSES: tuple[ReferralStatus, ...] = get_args(ReferralStatus)
SubStatus = Literal[
    "appointment-scheduled", "waitlisted", "appointment-missed", "needs-mentee-action"
]
SUB_STATUSES: tuple[SubStatus, ...] = get_args(SubStatus)
Priority = Literal["routine", "urgent"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
ContactPreference = Literal[
    "mentee-will-contact", "mentor-will-contact", "service-may-contact", "do-not-contact"
]
CONTACT_PREFERENCES: tuple[ContactPreference, ...] = get_args(ContactPreference)

NUMBER = re.compile(r"\s*[-+]?[0-9.]+(e[-+]?[0-9]+)?\s*", re.IGNORECASE)


def _not_a_number(value: Any) -> Any:
    """A time is a date and time (RFC 3339); pydantic alone reads "0.5" as seconds since 1970."""
    if isinstance(value, str) and NUMBER.fullmatch(value):
        raise ValueError("a time is a date and time such as 2025-01-31T09:00:00Z")
    return value


DateTime = Annotated[dt.datetime, BeforeValidator(_not_a_number)]  # in a URL's query

# The window a date given by a person may fall in: nothing before 2000 (a typo, or a date
# meant as a placeholder), nothing in the year 9999.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FOLLOW_UP_AHEAD = dt.timedelta(days=366)  # a follow-up within a year
CONSENT_AHEAD = dt.timedelta(days=2 * 366)  # consent lasts at most two years
APPOINTMENT_AHEAD = dt.timedelta(days=366)


def within(
    value: dt.datetime, *, ahead: dt.timedelta, what: str, now: dt.datetime | None = None
) -> dt.datetime:
    """``value`` when it lies between 2000 and ``ahead`` from now; else a ValueError naming it."""
    now = now or dt.datetime.now(dt.UTC)
    if value < EARLIEST:
        raise ValueError(f"{what} is before {EARLIEST.year}: check the year")
    if value > now + ahead:
        raise ValueError(f"{what} is more than {ahead.days} days ahead: check the year")
    return value

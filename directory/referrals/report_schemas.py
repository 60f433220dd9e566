"""What an outcome report counts and what it shows (the definitions are in ``reports``): a
group's exact figures, which never leave the server as they are, and the report built from
them under the small-number rules of ``suppression``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field

from directory.referrals.lifecycle import NOT_CONNECTED, STATUSES, TERMINAL

GroupBy = Literal["need", "service", "mentor"]
GROUP_BY = get_args(GroupBy)
# A count as shown: 1 to 4 become "<5" (see ``suppression.shown``).
Count = int | Literal["<5"]
ERROR = "entered-in-error"  # left out of every figure, reported only as its count
SHOWN_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != ERROR)
COUNTED_TERMINAL = TERMINAL - {ERROR}  # completed, failed, rejected, cancelled
TOP_REASONS = 5
RECENT = dt.timedelta(days=30)  # services to check: failures of the last 30 days
CHECK_OUTCOMES = ("no-capacity", "could-not-contact")  # ... that a listing may be to blame for
# Reasons whose cells tie (or show no count) are listed in this order: what a listing is
# checked for first, then by code.
REASON_ORDER = (*CHECK_OUTCOMES, *sorted(set(NOT_CONNECTED) - set(CHECK_OUTCOMES)))


@dataclass(frozen=True)
class GroupFigures:
    """One group's exact figures, as the SQL counts them (``report_queries``)."""

    key: str | None
    label: str | None
    statuses: dict[str, int]  # every status, entered-in-error included
    to_acceptance: Decimal | None  # medians in days, one decimal; None over no referral
    to_first_contact: Decimal | None
    to_connection: Decimal | None
    within_7: int  # completed within 7 (30) days of their creation
    within_30: int
    follow_ups: int = 0  # follow-up events logged, and of which on time
    follow_ups_on_time: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # failed ones' outcomes, most first

    @property
    def total(self) -> int:
        """The group's referrals, entered-in-error left out."""
        return sum(self.statuses[s] for s in SHOWN_STATUSES)

    @property
    def terminal(self) -> int:
        """Those that ended: completed, failed, rejected or cancelled."""
        return sum(self.statuses[s] for s in COUNTED_TERMINAL)


class FailingService(NamedTuple):
    """A service's recent failures for the outcomes to check, exact (``report_queries``)."""

    service_id: uuid.UUID
    name: str
    no_capacity: int
    could_not_contact: int


class ReasonCount(BaseModel):
    outcome: str
    count: Count | None  # None: withheld (see suppression.protect)


class ReportGroup(BaseModel):
    key: str | None  # need code, service id or mentor id; null for the program row
    label: str | None  # the service's name
    referrals: Count | None
    entered_in_error: Count
    by_status: dict[str, Count | None]
    closed_loop_rate: float | None
    connection_rate: float | None
    median_days_to_acceptance: float | None
    median_days_to_first_contact: float | None
    median_days_to_connection: float | None
    connected_within_7_days: float | None
    connected_within_30_days: float | None
    follow_ups: Count
    follow_ups_on_time: float | None
    not_connected_reasons: list[ReasonCount]


class ServiceToCheck(BaseModel):
    service_id: uuid.UUID
    name: str
    no_capacity: Count
    could_not_contact: Count


class ReferralReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    program_id: uuid.UUID
    from_: dt.date = Field(alias="from")
    to: dt.date
    group_by: GroupBy | None
    groups: list[ReportGroup]
    services_to_check: list[ServiceToCheck]

"""The program's numbers: outcomes of referrals (with charts that keep the small-number rules),
searches that found nothing (unmet needs), and the audit log with names instead of ids. Each
page downloads as CSV through a plain link (``?format=csv``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from directory.accounts import audit
from directory.accounts.models import AuditEntry
from directory.accounts.roles import require
from directory.api.deps import SessionDep
from directory.errors import InvalidInput
from directory.referrals import reports
from directory.referrals.report_csv import spreadsheet_cell
from directory.referrals.report_schemas import GROUP_BY, ReferralReport, ReportGroup
from directory.search import unmet
from directory.web import vocab
from directory.web.charts import Chart, Value, Words, bar_chart, cell_text, number_formats
from directory.web.deps import PageContext, Staff
from directory.web.forms import whole_number
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
UNMET_DAYS = (30, 90, 365)
PER_PAGE = 50
CSV_ROWS = 10_000  # an audit download: the newest rows that match, at most this many
UNMET_BARS = 20
ACTION = re.compile(r"^[a-z0-9_.-]{1,32}$")  # a kind ("referral.") or a whole action
EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,120}$")


# -- outcomes ------------------------------------------------------------------------------


@router.get("/console/outcomes")
def outcomes(request: Request, session: SessionDep, user: Staff) -> Response:
    require(user, "read-reports")
    asked, errors = _outcome_query(request)
    context: dict[str, Any] = {"asked": asked, "errors": errors, "groupings": GROUP_BY}
    context["quick"] = _quick_periods(request, asked["by"])
    if not errors:
        try:
            start, end = reports.period(asked["start"], asked["end"])
        except InvalidInput as error:
            errors[_field(error.field)] = gettext(request, error.detail)
    if errors:
        return render(request, "console/outcomes.html", context, status=422)
    by = asked["by"] or None
    grouped = reports.referral_report(session, user, start=start, end=end, group_by=by)
    if request.query_params.get("format") == "csv":
        name = f"outcomes-{start}-{end - dt.timedelta(days=1)}-{by or 'program'}.csv"
        return _csv_response(reports.to_csv(grouped), name)
    program = (
        grouped if by is None else reports.referral_report(session, user, start=start, end=end)
    )
    context.update(_outcome_view(request, session, program, grouped))
    return render(request, "console/outcomes.html", context)


def _field(name: str | None) -> str:
    return {"from": "start", "to": "end", "group_by": "by"}.get(name or "", "start")


def _outcome_query(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The period asked for (``end`` included, as people say it) and the grouping; messages
    for values that cannot be read."""
    params = request.query_params
    asked: dict[str, Any] = {"by": params.get("by", "need"), "start": None, "end": None}
    asked["start_text"], asked["end_text"] = params.get("start", ""), params.get("end", "")
    errors: dict[str, str] = {}
    for name in ("start", "end"):
        text = asked[f"{name}_text"].strip()
        try:
            asked[name] = dt.date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = gettext(request, "Give a date as year-month-day, like 2025-03-31.")
    if asked["end"] is not None and asked["end"] < reports.LATEST:
        asked["end"] += dt.timedelta(days=1)  # the report's end is the day after the last
    if asked["by"] not in ("", *GROUP_BY):
        errors["by"] = gettext(request, "Choose a grouping from the list.")
    return asked, errors


def _quick_periods(request: Request, by: str) -> list[tuple[str, str]]:
    """(label, query) of the last 30 days, the last 90 and the last calendar quarter."""
    today = dt.datetime.now(dt.UTC).date()  # reports count days in UTC
    first_month = 3 * ((today.month - 1) // 3) + 1
    quarter_end = dt.date(today.year, first_month, 1) - dt.timedelta(days=1)
    start_month = 3 * ((quarter_end.month - 1) // 3) + 1
    quarter_start = dt.date(quarter_end.year, start_month, 1)
    periods = (
        (gettext(request, "Last 30 days"), today - dt.timedelta(days=29), today),
        (gettext(request, "Last 90 days"), today - dt.timedelta(days=89), today),
        (gettext(request, "Last quarter"), quarter_start, quarter_end),
    )
    return [(label, urlencode({"start": s, "end": e, "by": by})) for label, s, e in periods]


def _words(request: Request) -> Words:
    return Words(
        small=gettext(request, "fewer than 5"),
        withheld=gettext(request, "not shown"),
        summary=gettext(
            request, "%(title)s: %(count)s bars; the longest is %(label)s (%(value)s)."
        ),
        hidden=gettext(
            request, "Hatched bars are not drawn to scale (fewer than 5, or not shown): %(labels)s."
        ),
        empty=gettext(request, "%(title)s: no figure can be shown."),
    )


def _outcome_view(
    request: Request, session: SessionDep, program: ReferralReport, grouped: ReferralReport
) -> dict[str, Any]:
    """Headline figures, how referrals ended and why not, and per group a table and charts."""
    words, fmt = _words(request), number_formats(request.state.lang)
    last_day = program.to - dt.timedelta(days=1)
    by = grouped.group_by
    view: dict[str, Any] = {
        "report": program,
        "program": program.groups[0],
        "last_day": last_day,
        "text": lambda value, kind="count": cell_text(value, words, fmt[kind]),
        "csv_query": urlencode(
            {"start": program.from_, "end": last_day, "by": by or "", "format": "csv"}
        ),
        "report_by": by,
        "groups": [],
        "charts": [],
        **_program_view(request, program.groups[0], words, fmt["count"]),
    }
    if by is not None:
        labels = _group_labels(request, session, grouped)
        view["groups"] = list(zip(labels, grouped.groups, strict=True))
        view["charts"] = _group_charts(request, view["groups"], words, fmt)
    return view


def _program_view(
    request: Request, row: ReportGroup, words: Words, count: Callable[[float], str]
) -> dict[str, Any]:
    """The program's statuses and reasons for not connecting: rows and charts."""
    statuses = [
        (gettext(request, vocab.STATUSES[s]), row.by_status[s]) for s in reports.SHOWN_STATUSES
    ]
    reasons = [
        (gettext(request, vocab.OUTCOMES.get(r.outcome, r.outcome)), r.count)
        for r in row.not_connected_reasons
    ]
    ended = gettext(request, "How referrals ended")
    not_connected = gettext(request, "Why referrals did not connect")
    return {
        "statuses": statuses,
        "reasons": reasons,
        "status_chart": bar_chart("status", ended, statuses, words, fmt=count),
        "reason_chart": bar_chart("reason", not_connected, reasons, words, fmt=count),
    }


def _group_labels(request: Request, session: SessionDep, report: ReferralReport) -> list[str]:
    """Each group's name: a need's words, a listing's name, a mentor's email."""
    emails = (
        audit.names(session, (g.key for g in report.groups if g.key))
        if report.group_by == "mentor"
        else {}
    )
    labels = []
    for group in report.groups:
        if group.key is None:
            labels.append(gettext(request, "No need named"))
        elif report.group_by == "need":
            labels.append(
                gettext(request, vocab.NEEDS[group.key]) if group.key in vocab.NEEDS else group.key
            )
        elif report.group_by == "service":
            labels.append(group.label or group.key)
        else:
            labels.append(emails.get(group.key, gettext(request, "an account since erased")))
    return labels


def _group_charts(
    request: Request,
    groups: list[tuple[str, ReportGroup]],
    words: Words,
    fmt: dict[str, Callable[[float], str]],
) -> list[Chart]:
    """Referrals, closed-loop rate, connection rate and median days to connect, per group."""
    figures: list[tuple[str, str, Callable[[ReportGroup], Value], str, float | None]] = [
        ("referrals", gettext(request, "Referrals"), _referrals, "count", None),
        ("closed", gettext(request, "Closed-loop rate"), _closed_loop, "rate", 1.0),
        ("connected", gettext(request, "Connection rate"), _connection, "rate", 1.0),
        ("days", gettext(request, "Median days to connect"), _to_connect, "days", None),
    ]
    return [
        bar_chart(
            key, title, [(label, pick(g)) for label, g in groups], words, fmt=fmt[kind], scale=scale
        )
        for key, title, pick, kind, scale in figures
    ]


def _referrals(group: ReportGroup) -> Value:
    return group.referrals


def _closed_loop(group: ReportGroup) -> Value:
    return group.closed_loop_rate


def _connection(group: ReportGroup) -> Value:
    return group.connection_rate


def _to_connect(group: ReportGroup) -> Value:
    return group.median_days_to_connection


# -- unmet needs ---------------------------------------------------------------------------


@router.get("/console/unmet")
def unmet_page(request: Request, session: SessionDep, user: Staff) -> Response:
    require(user, "read-reports")
    text = request.query_params.get("days", str(UNMET_DAYS[0]))
    days = int(text) if text in {str(d) for d in UNMET_DAYS} else None
    context: dict[str, Any] = {"choices": UNMET_DAYS, "days": days or UNMET_DAYS[0]}
    if days is None:
        context["error"] = gettext(request, "Choose 30, 90 or 365 days.")
        return render(request, "console/unmet.html", context, status=422)
    rows = unmet.unmet_needs(session, days=days)
    if request.query_params.get("format") == "csv":
        table = [("need", "area", "searches", "last_day")]
        table += [(r.need, r.area, str(r.searches), r.last_day.isoformat()) for r in rows]
        return _csv_response(_csv(table), f"unmet-needs-{days}-days.csv")
    named = [(_need_name(request, r.need), _area_name(request, r.area), r) for r in rows]
    words, fmt = _words(request), number_formats(request.state.lang)
    bars = [(f"{need} · {area}", r.searches) for need, area, r in named[:UNMET_BARS]]
    title = gettext(request, "Searches that found nothing")
    context.update(rows=named, chart=bar_chart("unmet", title, bars, words, fmt=fmt["count"]))
    return render(request, "console/unmet.html", context)


def _need_name(request: Request, code: str) -> str:
    if code == unmet.NONE:
        return gettext(request, "No need named")
    return gettext(request, vocab.NEEDS[code]) if code in vocab.NEEDS else code


def _area_name(request: Request, area: str) -> str:
    return gettext(request, "No place given") if area == unmet.NONE else area


# -- audit ---------------------------------------------------------------------------------


@router.get("/console/audit")
def audit_page(request: Request, session: SessionDep, user: Staff) -> Response:
    require(user, "read-audit")
    asked, errors = _audit_query(request)
    context: dict[str, Any] = {"asked": asked, "errors": errors}
    context["kinds"] = audit.action_kinds(session, user)
    if errors:
        return render(request, "console/audit.html", context, status=422)
    as_csv = request.query_params.get("format") == "csv"
    limit = CSV_ROWS if as_csv else PER_PAGE + 1  # one more: is there a next page?
    offset = 0 if as_csv else (asked["page"] - 1) * PER_PAGE
    rows = audit.entries(
        session, user, referral_id=None, action=asked["action"] or None,
        actor=asked["actor"] or None, since=asked["since_at"], until=asked["until_at"],
        limit=limit, offset=offset,
    )  # fmt: skip
    names = audit.names(session, _pointed_at(entry for entry, _ in rows))
    if as_csv:
        return _csv_response(_audit_csv(rows, names), "audit.csv")
    filters = {k: asked[k] for k in ("action", "actor", "since", "until") if asked[k]}
    context.update(
        rows=[_audit_row(entry, email, names) for entry, email in rows[:PER_PAGE]],
        page=asked["page"],
        more=len(rows) > PER_PAGE,
        query=lambda **extra: urlencode({**filters, **extra}),
    )
    return render(request, "console/audit.html", context)


def _audit_query(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters as typed, and as the log reads them (days in the program's time zone, the
    last one included); a message for each that cannot be read."""
    params = request.query_params
    asked: dict[str, Any] = {
        k: params.get(k, "").strip() for k in ("action", "actor", "since", "until")
    }
    errors: dict[str, str] = {}
    if asked["action"] and not ACTION.match(asked["action"]):
        errors["action"] = gettext(request, "Choose a kind of action from the list.")
    if asked["actor"] and not EMAIL.match(asked["actor"]):
        errors["actor"] = gettext(request, "Give an email address, like name@example.org.")
    zone = ZoneInfo(request.app.state.settings.time_zone)
    for name, shift in (("since", 0), ("until", 1)):
        asked[f"{name}_at"] = None
        if asked[name]:
            try:
                day = dt.date.fromisoformat(asked[name]) + dt.timedelta(days=shift)
                asked[f"{name}_at"] = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            except (ValueError, OverflowError):
                errors[name] = gettext(request, "Give a date as year-month-day, like 2025-03-31.")
    page = params.get("page", "1")
    asked["page"] = whole_number(page, most=10_000) or 1
    if page != str(asked["page"]):
        errors["page"] = gettext(request, "There is no such page.")
    return asked, errors


def _pointed_at(entries: Iterable[AuditEntry]) -> set[str]:
    """The ids of people and listings the entries' details name."""
    return {str(e.detail[k]) for e in entries for k in ("user_id", "service_id") if e.detail.get(k)}


def _audit_row(entry: AuditEntry, email: str | None, names: dict[str, str]) -> dict[str, Any]:
    detail = dict(entry.detail)
    listing, person = detail.pop("service_id", None), detail.pop("user_id", None)
    return {
        "entry": entry,
        "actor": email,
        "listing": (listing, names.get(str(listing))) if listing else None,
        "person": (person, names.get(str(person))) if person else None,
        "detail": sorted(detail.items()),
    }


AUDIT_COLUMNS = ("at", "actor", "action", "referral_id", "listing", "person", "detail")


def _audit_csv(rows: list[tuple[AuditEntry, str | None]], names: dict[str, str]) -> str:
    table: list[tuple[str, ...]] = [AUDIT_COLUMNS]
    for entry, email in rows:
        row = _audit_row(entry, email, names)
        table.append(
            (
                entry.at.isoformat(),
                spreadsheet_cell(email) or "",
                entry.action,
                str(entry.referral_id or ""),
                spreadsheet_cell(_named(row["listing"])) or "",
                spreadsheet_cell(_named(row["person"])) or "",
                json.dumps(dict(row["detail"]), sort_keys=True) if row["detail"] else "",
            )
        )
    return _csv(table)


def _named(pointer: tuple[str, str | None] | None) -> str:
    """A listing's or a person's name, else its id, else nothing."""
    return "" if pointer is None else pointer[1] or str(pointer[0])


# -- CSV -----------------------------------------------------------------------------------


def _csv(table: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue()


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )

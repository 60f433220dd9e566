"""A referral as FHIR R4, for a health system to read: a Bundle of a ServiceRequest (what was
asked for) and a Task (its fulfilment and lifecycle), shaped after the HL7 SDOH Clinical Care
profiles SDOHCCServiceRequest and SDOHCCTaskForReferralManagement.

The resources do not claim those profiles in ``meta.profile``: the profiles bind
ServiceRequest.code to US Core procedure codes and require an SDOH category, and a peer-mentoring
referral to counselling has neither; we fill every element the profiles require and leave the
claim to the day we code needs as procedures.

Privacy: the mentee appears only as the program's pseudonymous code (an identifier on a logical
reference, never a name); the mentor only by id; no free text leaves the program: not the note,
not the note events, not the reason a mentor wrote for a status (it may name people or places).
Task.statusReason.text, which the profiles ask for, says only that the program holds the reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts.audit import record
from directory.accounts.models import User
from directory.listings.models import Service, Taxonomy, TaxonomyTerm
from directory.listings.taxonomy import NEEDS_TAXONOMY
from directory.referrals import lifecycle
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.service import visible

FHIR_JSON = "application/fhir+json"
URI = "urn:ietf:rfc:3986"  # the identifier system whose values are URIs (here urn:uuid:...)
# Our own codes. Until the deployment has a public canonical URL, they live under one URN prefix.
LOCAL = "urn:directory:"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
# Needs that match one SDOH category (SDOHCC ValueSet SDOH Category) cleanly. Others are not SDOH
# domains (mental health) or straddle several (housing: homelessness or instability;
# domestic-violence: more than intimate partners), so they stay text.
SDOH_CATEGORIES = {
    "food": ("food-insecurity", "Food Insecurity"),
    "employment": ("employment-status", "Employment Status"),
    "veterans": ("veteran-status", "Veteran Status"),
}
# Task.status is our status, 1:1 (SDOHCC ValueSet Referral Task Status). ServiceRequest.status is
# the requester's view: open while the Task runs, ended by its outcome.
REQUEST_STATUS = {
    "completed": "completed",
    "cancelled": "revoked",
    "rejected": "revoked",
    "failed": "revoked",
    "entered-in-error": "entered-in-error",
}
# The bundle's own namespace for the ServiceRequest's id: the Task carries the referral's id.
SERVICE_REQUEST_NS = uuid.UUID("6b0d8a3e-5a52-4f4e-9d0c-3f1f2c7d9e41")


@dataclass(frozen=True)
class ReferralExport:
    """What the FHIR view of one referral is made from."""

    referral: Referral
    service_name: str
    need_names: dict[str, str]
    reason: str | None  # the decrypted reason of the current status, if it takes one
    appointment: dt.date | None  # the scheduled appointment's date, if one is scheduled


def load_export(session: Session, user: User, referral_id: uuid.UUID) -> ReferralExport:
    """The referral (if the user may see it) with what its FHIR view needs (audited)."""
    referral = visible(session, user, referral_id)
    service_name = session.scalar(select(Service.name).where(Service.id == referral.service_id))
    names = session.execute(
        select(TaxonomyTerm.code, TaxonomyTerm.name)
        .join(Taxonomy)
        .where(Taxonomy.name == NEEDS_TAXONOMY, TaxonomyTerm.code.in_(referral.needs))
    )
    record(session, user, "referral.fhir", referral)
    return ReferralExport(
        referral=referral,
        service_name=service_name or "",
        need_names={code: name for code, name in names},
        reason=_reason(referral),
        appointment=_appointment(session, referral),
    )


def _reason(referral: Referral) -> str | None:
    """A statusReason text for a status that needs a reason; never the mentor's own words."""
    if referral.status not in lifecycle.NEEDS_REASON:
        return None
    return f"{referral.status.capitalize()}: the reason is recorded by the referring program"


def _latest(session: Session, referral: Referral, kind: str) -> ReferralEvent | None:
    return session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id, ReferralEvent.type == kind)
        .order_by(ReferralEvent.seq.desc())
        .limit(1)
    ).first()


def _appointment(session: Session, referral: Referral) -> dt.date | None:
    if referral.sub_status != "appointment-scheduled":
        return None
    event = _latest(session, referral, "sub-status")
    day = event.data.get("date") if event is not None else None
    return dt.date.fromisoformat(day) if day else None


def bundle(export: ReferralExport, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle (type collection) of the referral's Task and ServiceRequest.

    A collection, not a document (no Composition to head it), a searchset (not a search answer)
    or a transaction (nothing is asked of the receiving server): the IG's examples exchange
    these resources one by one, and a collection is the plain way to hand over a related set.
    """
    task, request = task_resource(export), service_request(export)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(at or dt.datetime.now(dt.UTC)),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in (task, request)
        ],
    }


def service_request_id(referral: Referral) -> uuid.UUID:
    """The ServiceRequest's id: derived from the referral's, so every export agrees."""
    return uuid.uuid5(SERVICE_REQUEST_NS, str(referral.id))


def task_resource(export: ReferralExport) -> dict[str, Any]:
    """The SDOHCC-shaped Task: the referral's lifecycle, owned by the service."""
    referral = export.referral
    return _present(
        {
            "resourceType": "Task",
            "id": str(referral.id),
            "identifier": [_uuid_identifier(referral.id)],
            "status": referral.status,
            "statusReason": {"text": export.reason} if export.reason else None,
            "businessStatus": _business_status(referral),
            "intent": "order",
            "priority": referral.priority,
            "code": _concept(TASK_CODE, "fulfill", "Fulfill the focal request"),
            "focus": {
                "reference": f"urn:uuid:{service_request_id(referral)}",
                "type": "ServiceRequest",
            },
            "for": _mentee(referral),
            "authoredOn": _instant(referral.created_at),
            "lastModified": _instant(max(referral.created_at, referral.last_event_at)),
            "requester": _mentor(referral),
            "owner": _service(referral, export.service_name),
            "output": _outputs(referral),
        }
    )


def service_request(export: ReferralExport) -> dict[str, Any]:
    """The SDOHCC-shaped ServiceRequest: what the mentor asked of the service, for whom."""
    referral = export.referral
    # ServiceRequest.note is left out on purpose: the referral's note is free text about the
    # mentee, and free text stays inside the program. follow_up_at is left out too: it is when
    # the mentor checks in, not when the service occurs (occurrence[x]); a scheduled
    # appointment's date is.
    return _present(
        {
            "resourceType": "ServiceRequest",
            "id": str(service_request_id(referral)),
            "identifier": [_uuid_identifier(referral.id)],
            "status": REQUEST_STATUS.get(referral.status, "active"),
            "intent": "order",
            "category": [_category(code, export.need_names) for code in referral.needs] or None,
            "priority": referral.priority,
            "code": {"text": _needs_text(export)},
            "orderDetail": _order_detail(referral),
            "subject": _mentee(referral),
            "occurrenceDateTime": export.appointment.isoformat() if export.appointment else None,
            "authoredOn": _instant(referral.created_at),
            "requester": _mentor(referral),
            "performer": [_service(referral, export.service_name)],
        }
    )


def _mentee(referral: Referral) -> dict[str, Any]:
    """No Patient resource: a logical reference by the program's pseudonymous code."""
    system = f"{LOCAL}program:{referral.program_id}:mentee-ref"
    return {"type": "Patient", "identifier": {"system": system, "value": referral.mentee_ref}}


def _mentor(referral: Referral) -> dict[str, Any]:
    """The mentor in their program's role, by id only (the IG's Task.requester is a
    PractitionerRole or an Organization, not a bare Practitioner)."""
    return {"type": "PractitionerRole", "identifier": _uuid_identifier(referral.mentor_id)}


def _service(referral: Referral, name: str) -> dict[str, Any]:
    reference = {"type": "HealthcareService", "identifier": _uuid_identifier(referral.service_id)}
    return {**reference, "display": name} if name else reference


def _business_status(referral: Referral) -> dict[str, Any] | None:
    """Our sub-status, while the referral is open (after it closes it is history)."""
    if referral.sub_status is None or referral.status in lifecycle.TERMINAL:
        return None
    return _concept(f"{LOCAL}referral-sub-status", referral.sub_status)


def _outputs(referral: Referral) -> list[dict[str, Any]] | None:
    """The outcome of a completed or failed referral. Not the IG's resulting-activity slice:
    that one carries procedure codes, and an outcome is not a procedure."""
    if referral.outcome is None:
        return None
    return [
        {
            "type": _concept(f"{LOCAL}referral-output", "outcome", "Referral outcome"),
            "valueCodeableConcept": _concept(f"{LOCAL}referral-outcome", referral.outcome),
        }
    ]


def _category(code: str, names: dict[str, str]) -> dict[str, Any]:
    name = names.get(code, code)
    if code in SDOH_CATEGORIES:
        sdoh, display = SDOH_CATEGORIES[code]
        return {"coding": [{"system": SDOHCC, "code": sdoh, "display": display}], "text": name}
    return {"text": name}


def _needs_text(export: ReferralExport) -> str:
    names = [export.need_names.get(code, code) for code in export.referral.needs]
    return ", ".join(names) if names else f"Referral to {export.service_name or 'a service'}"


def _order_detail(referral: Referral) -> list[dict[str, Any]] | None:
    """The IG's flag for a subject who must not be contacted."""
    if referral.contact_preference != "do-not-contact":
        return None
    return [_concept(SDOHCC, "contacting-subject-prohibited", "Contacting Subject Prohibited")]


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    shown = display or code.replace("-", " ").capitalize()
    return {"coding": [{"system": system, "code": code, "display": shown}], "text": shown}


def _uuid_identifier(value: uuid.UUID) -> dict[str, str]:
    return {"system": URI, "value": f"urn:uuid:{value}"}


def _instant(moment: dt.datetime) -> str:
    """A FHIR instant/dateTime: UTC, to the millisecond."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _present(resource: dict[str, Any]) -> dict[str, Any]:
    """FHIR JSON has no nulls: drop the elements that have no value."""
    return {key: value for key, value in resource.items() if value is not None}

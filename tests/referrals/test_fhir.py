"""GET /v1/referrals/{id}/fhir: a FHIR R4 Bundle of a ServiceRequest and a Task in the HL7 SDOH
Clinical Care shape; checked against the R4 rules for Bundle, Task and ServiceRequest, for every
status, for privacy (no free text but the status reason; the mentee only as an identifier), and
for who may read it."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.listings.models import Service
from directory.referrals.lifecycle import NEEDS_REASON, OUTCOMES, STATUSES
from tests.referrals.conftest import event, refer

NOTE = "Prefers afternoon appointments; anxious about waiting rooms."
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"

# R4 value sets (required bindings) for the coded elements we emit.
BUNDLE_TYPES = {
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
}
TASK_STATUSES = {*STATUSES, "draft", "received", "ready"}
REQUEST_STATUSES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error"}
INTENTS = {"proposal", "plan", "directive", "order", "original-order", "reflex-order"}
PRIORITIES = {"routine", "urgent", "asap", "stat"}
REQUIRED = {
    "Bundle": ("type",),
    "Task": ("status", "intent"),
    "ServiceRequest": ("status", "intent", "subject"),
}
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
DATE_TIME = re.compile(
    r"([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]"
    r":([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)

PATHS = {
    "requested": [],
    "accepted": ["accepted"],
    "rejected": ["rejected"],
    "cancelled": ["cancelled"],
    "in-progress": ["accepted", "in-progress"],
    "on-hold": ["accepted", "on-hold"],
    "completed": ["accepted", "completed"],
    "failed": ["accepted", "failed"],
    "entered-in-error": ["entered-in-error"],
}
REQUEST_STATUS = {
    "requested": "active",
    "accepted": "active",
    "in-progress": "active",
    "on-hold": "active",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "failed": "revoked",
    "entered-in-error": "entered-in-error",
}


def reason(status: str) -> str:
    return f"the reason for {status}, in the mentor's words"


def move(to: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": "status", "to": to}
    if to in NEEDS_REASON:
        fields["reason"] = reason(to)
    if to in OUTCOMES:
        fields["outcome"] = "got-help" if to == "completed" else "no-capacity"
    return fields


def reach(
    client: TestClient, headers: dict[str, str], service_id: str, status: str, **overrides: Any
) -> dict[str, Any]:
    referral = refer(client, headers, service_id, **overrides)
    for step in PATHS[status]:
        response = event(client, headers, referral, **move(step))
        assert response.status_code == 200, response.text
        referral = response.json()
    return referral


def export(client: TestClient, headers: dict[str, str], referral: dict[str, Any]) -> Any:
    response = client.get(f"/v1/referrals/{referral['id']}/fhir", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    found = response.json()
    assert_r4(found)
    return found


def resources(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["resource"]["resourceType"]: entry["resource"] for entry in found["entry"]}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) in a JSON tree, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def assert_r4(found: dict[str, Any]) -> None:
    """The FHIR R4 rules these resources fall under (Bundle, Task, ServiceRequest, the JSON
    format and the SDOHCC profiles' required elements)."""
    for path, value in walk(found):
        assert value is not None and value != "" and value != [] and value != {}, path  # ele-1
    assert found["resourceType"] == "Bundle" and found["type"] in BUNDLE_TYPES
    assert found["type"] == "collection" and "total" not in found  # bdl-1
    assert INSTANT.fullmatch(found["timestamp"])
    urls = [entry["fullUrl"] for entry in found["entry"]]
    assert len(urls) == len(set(urls)), "bdl-7: fullUrl unique"
    for entry in found["entry"]:
        assert set(entry) == {"fullUrl", "resource"}  # bdl-2, 3, 4, 5: no search/request/response
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}" and ID.fullmatch(resource["id"])
        for element in REQUIRED[resource["resourceType"]]:
            assert element in resource, f"{resource['resourceType']}.{element} is 1..1"
    for path, value in walk(found):
        if path.endswith(".reference"):
            assert value in urls, f"{path} {value} does not resolve in the bundle"
        if path.endswith(".coding") or path.endswith("identifier"):
            items = value if isinstance(value, list) else [value]
            assert all(item.get("system") for item in items), path
        if re.search(r"\.(authoredOn|lastModified|occurrenceDateTime)$", path):
            assert DATE_TIME.fullmatch(value), path
    by_type = resources(found)
    assert_task(by_type["Task"], urls)
    assert_service_request(by_type["ServiceRequest"])


def assert_task(task: dict[str, Any], urls: list[str]) -> None:
    assert task["status"] in TASK_STATUSES and task["intent"] == "order"  # SDOHCC: fixed order
    assert task["priority"] in PRIORITIES
    assert task["code"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/CodeSystem/task-code",
            "code": "fulfill",
            "display": "Fulfill the focal request",
        }
    ]
    for element in ("focus", "for", "authoredOn", "requester"):  # SDOHCC: 1..1
        assert element in task, f"Task.{element}"
    assert task["focus"]["reference"] in urls and task["focus"]["type"] == "ServiceRequest"
    assert task["requester"]["type"] in ("PractitionerRole", "Organization")
    assert task["lastModified"] >= task["authoredOn"]  # inv-1 (same zone and precision)
    if "statusReason" in task:
        assert task["statusReason"]["text"]  # SDOHCC: statusReason.text 1..1
    for output in task.get("output", []):
        assert output["type"] and output["valueCodeableConcept"]


def assert_service_request(request: dict[str, Any]) -> None:
    assert request["status"] in REQUEST_STATUSES and request["intent"] in INTENTS
    assert request["priority"] in PRIORITIES
    assert "orderDetail" not in request or "code" in request  # prr-1


def service_name(session: Session, service_id: str) -> str:
    return str(session.scalar(select(Service.name).where(Service.id == service_id)))


def test_a_requested_referral_as_a_bundle(
    client: TestClient, mentor_a: dict[str, str], service_id: str, session: Session
) -> None:
    referral = refer(client, mentor_a, service_id)
    found = export(client, mentor_a, referral)
    task, request = resources(found)["Task"], resources(found)["ServiceRequest"]
    assert [e["resource"]["resourceType"] for e in found["entry"]] == ["Task", "ServiceRequest"]
    assert task["id"] == referral["id"] and task["status"] == "requested"
    assert task["focus"]["reference"] == f"urn:uuid:{request['id']}"
    assert request["status"] == "active" and request["intent"] == "order"
    assert request["code"] == {"text": "Anxiety"}
    assert task["authoredOn"].endswith("Z") and "statusReason" not in task and "output" not in task
    mentor = {
        "type": "PractitionerRole",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{referral['mentor_id']}"},
    }
    assert task["requester"] == request["requester"] == mentor  # by id only
    service = {
        "type": "HealthcareService",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{service_id}"},
        "display": service_name(session, service_id),
    }
    assert task["owner"] == request["performer"][0] == service
    again = export(client, mentor_a, referral)
    assert resources(again)["ServiceRequest"]["id"] == request["id"]  # stable across exports


def test_the_mentee_is_only_an_identifier(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = refer(client, mentor_a, service_id, mentee_ref="HP-7731")
    found = export(client, mentor_a, referral)
    task, request = resources(found)["Task"], resources(found)["ServiceRequest"]
    assert task["for"] == request["subject"]
    assert task["for"]["type"] == "Patient" and set(task["for"]) == {"type", "identifier"}
    assert task["for"]["identifier"]["value"] == "HP-7731"
    assert referral["program_id"] in task["for"]["identifier"]["system"]  # the program's codes
    places = [path for path, value in walk(found) if isinstance(value, str) and "HP-7731" in value]
    assert sorted(places) == [
        ".entry[0].resource.for.identifier.value",
        ".entry[1].resource.subject.identifier.value",
    ]


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_maps(
    client: TestClient, mentor_a: dict[str, str], service_id: str, status: str
) -> None:
    referral = reach(client, mentor_a, service_id, status)
    found = export(client, mentor_a, referral)
    task, request = resources(found)["Task"], resources(found)["ServiceRequest"]
    assert task["status"] == status
    assert request["status"] == REQUEST_STATUS[status]
    if status in NEEDS_REASON:
        assert task["statusReason"]["text"].endswith("recorded by the referring program")
        assert reason(status) not in json.dumps(task)  # the mentor's words stay home
    else:
        assert "statusReason" not in task
    assert ("output" in task) == (status in OUTCOMES)


def test_a_failed_referral_carries_its_outcome_and_reason(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "failed")
    task = resources(export(client, mentor_a, referral))["Task"]
    assert task["status"] == "failed"
    assert task["statusReason"]["text"].startswith("Failed: the reason is recorded")
    assert reason("failed") not in json.dumps(task)
    assert task["output"] == [
        {
            "type": {
                "coding": [
                    {
                        "system": "urn:directory:referral-output",
                        "code": "outcome",
                        "display": "Referral outcome",
                    }
                ],
                "text": "Referral outcome",
            },
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": "urn:directory:referral-outcome",
                        "code": "no-capacity",
                        "display": "No capacity",
                    }
                ],
                "text": "No capacity",
            },
        }
    ]


def test_a_completed_referral_says_how(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "completed")
    found = export(client, mentor_a, referral)
    task, request = resources(found)["Task"], resources(found)["ServiceRequest"]
    assert request["status"] == "completed"
    assert task["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "got-help"


def test_no_free_text_leaves_the_program(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "accepted", note=NOTE)
    private = "Mentee mentioned a court date on Friday."
    assert event(client, mentor_a, referral, type="note", text=private).status_code == 200
    response = client.get(f"/v1/referrals/{referral['id']}/fhir", headers=mentor_a)
    assert response.status_code == 200
    for text in (NOTE, "afternoon appointments", "waiting rooms", private, "court date"):
        assert text not in response.text
    assert '"note"' not in response.text
    assert response.headers["cache-control"] == "private, no-store"


def test_the_reason_is_the_only_free_text_and_only_for_the_current_status(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "on-hold")
    response = event(client, mentor_a, referral, type="status", to="in-progress")
    assert response.status_code == 200, response.text
    found = export(client, mentor_a, response.json())
    assert "statusReason" not in resources(found)["Task"]
    assert reason("on-hold") not in str(found)


def test_sub_status_and_appointment(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "accepted")
    day = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    response = event(
        client, mentor_a, referral, type="sub-status", value="appointment-scheduled", date=day
    )
    assert response.status_code == 200, response.text
    found = export(client, mentor_a, response.json())
    task, request = resources(found)["Task"], resources(found)["ServiceRequest"]
    assert task["businessStatus"]["coding"][0] == {
        "system": "urn:directory:referral-sub-status",
        "code": "appointment-scheduled",
        "display": "Appointment scheduled",
    }
    assert request["occurrenceDateTime"] == day  # the appointment, not the mentor's follow-up
    assert referral["follow_up_at"][:10] not in str(request.get("occurrenceDateTime"))


def test_categories_and_contact_preference(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = refer(
        client,
        mentor_a,
        service_id,
        needs=["food", "anxiety"],
        contact_preference="do-not-contact",
    )
    request = resources(export(client, mentor_a, referral))["ServiceRequest"]
    assert request["category"] == [
        {
            "coding": [{"system": SDOHCC, "code": "food-insecurity", "display": "Food Insecurity"}],
            "text": "Food",
        },
        {"text": "Anxiety"},
    ]
    assert request["code"] == {"text": "Food, Anxiety"}
    assert request["orderDetail"] == [
        {
            "coding": [
                {
                    "system": SDOHCC,
                    "code": "contacting-subject-prohibited",
                    "display": "Contacting Subject Prohibited",
                }
            ],
            "text": "Contacting Subject Prohibited",
        }
    ]


def test_only_those_who_may_read_the_referral_get_it(
    client: TestClient,
    mentor_a: dict[str, str],
    mentor_b: dict[str, str],
    coordinator_a: dict[str, str],
    coordinator_x: dict[str, str],
    service_id: str,
) -> None:
    referral = refer(client, mentor_a, service_id)
    url = f"/v1/referrals/{referral['id']}/fhir"
    for someone_else in (mentor_b, coordinator_x):
        response = client.get(url, headers=someone_else)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NotFound"
    assert client.get(url).status_code == 401
    assert (
        client.get(f"/v1/referrals/{referral['mentor_id']}/fhir", headers=mentor_a).status_code
        == 404
    )
    export(client, coordinator_a, referral)  # the program's coordinator may


def test_the_export_is_audited(
    client: TestClient, mentor_a: dict[str, str], coordinator_a: dict[str, str], service_id: str
) -> None:
    referral = refer(client, mentor_a, service_id)
    export(client, mentor_a, referral)
    rows = client.get(f"/v1/audit?referral_id={referral['id']}", headers=coordinator_a).json()
    fhir_reads = [row for row in rows if row["action"] == "referral.fhir"]
    assert len(fhir_reads) == 1 and fhir_reads[0]["detail"] == {}


@pytest.mark.parametrize("status", ["requested", "on-hold", "failed", "completed"])
def test_validates_with_fhir_resources(
    client: TestClient, mentor_a: dict[str, str], service_id: str, status: str
) -> None:
    """fhir.resources' R4B models accept the bundle (R4B leaves Bundle, Task and ServiceRequest
    as they were in R4)."""
    referral = reach(client, mentor_a, service_id, status, needs=["food", "anxiety"])
    found = export(client, mentor_a, referral)
    parsed = Bundle.model_validate(found)
    assert [entry.resource.get_resource_type() for entry in parsed.entry] == [
        "Task",
        "ServiceRequest",
    ]

"""The API against its own OpenAPI document: schemathesis drives every operation in-process as
a mentor, a coordinator and a partner site, and every answer must be one the document declares
(no server error; a declared status, content type, headers and body; a 405 that says Allow).

Each caller's run has its app bound to a transaction rolled back at its end: nothing stays.
The runs are deterministic (a fixed seed, derandomized), so a failure here fails the same way in
CI and on a laptop; the report names each failing operation with a curl that reproduces it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.keys import create_key
from directory.accounts.service import create_user
from directory.api.app import create_app
from directory.config import Settings
from directory.listings.models import Service

CALLERS = ("mentor", "coordinator", "partner")
MAX_EXAMPLES = 25  # per operation and caller, in the fuzzing phase
# What a request the schema calls valid may still meet, besides schemathesis's defaults:
# 412, a version in If-Match that is not the listing's (the data's state, not the request's
# shape); 422, the rules a schema cannot say (a need code the taxonomy has, a phone number that
# dials, a language by code or name, a date within a year of today, a ZIP code that exists).
VALID_BUT_REFUSED = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "5xx"]
# A missing If-Match is a 428 Precondition Required (RFC 6585), not a 400.
MISSING_HEADER = ["400", "401", "403", "406", "415", "422", "428"]


@dataclass(frozen=True)
class Api:
    app: FastAPI
    auth: dict[str, dict[str, dict[str, str]]]  # caller -> its security scheme's credentials
    ids: dict[str, str]  # path parameter -> an id that exists


class Unkept(Session):
    """A request's work, flushed (so that the database checks it) and then rolled back to its
    savepoint: a run makes thousands of writes, and each one kept would hold a lock until the
    test's transaction ends (4,700 after the coordinator's run, of a lock table of 6,400)."""

    def commit(self) -> None:
        self.flush()
        self.rollback()


@pytest.fixture
def api(engine: Engine, database_url: str) -> Iterator[Api]:
    """The app and its callers: a mentor and a coordinator of one program (bearer tokens), a
    partner key with a rate the run stays within, a published listing and the mentor's
    referral to it (so that reads and writes also answer 200s with whole bodies)."""
    settings = Settings(database_url=database_url)
    with engine.connect() as connection:
        outer = connection.begin()
        kept = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        with kept() as session:
            mentor, coordinator = (_token(session, role) for role in ("mentor", "coordinator"))
            _, key = create_key(
                session, name="Contract", origins=["https://a.example"], rate_text="100000/minute"
            )
            listing = session.scalars(
                select(Service.id).where(Service.curation_status == "published").limit(1)
            ).one()
            session.commit()
        referral = _referral(create_app(settings, session_factory=kept), mentor, listing)
        unkept = sessionmaker[Session](
            bind=connection,
            class_=Unkept,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        yield Api(
            app=create_app(settings, session_factory=unkept),
            auth={
                "mentor": {"bearer": {"bearer": mentor}},
                "coordinator": {"bearer": {"bearer": coordinator}},
                "partner": {"partnerKey": {"api_key": key}},
            },
            ids={"service_id": str(listing), "referral_id": referral},
        )
        outer.rollback()


def _token(session: Session, role: str) -> str:
    _, token = create_user(session, email=f"contract-{role}@example.org", role=role, program="CP")
    return token


def _referral(app: FastAPI, token: str, service_id: Any) -> str:
    body = {
        "mentee_ref": "CP-1042",
        "service_id": str(service_id),
        "contact_preference": "mentor-will-contact",
        "consent": {"scope": "first name", "obtained_at": _hour_ago(), "method": "verbal"},
    }
    with TestClient(app) as client:
        made = client.post("/v1/referrals", json=body, headers={"Authorization": f"Bearer {token}"})
    assert made.status_code == 201, made.text
    found: str = made.json()["id"]
    return found


def _hour_ago() -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()


@pytest.mark.parametrize("caller", CALLERS)
def test_every_answer_is_one_the_document_declares(api: Api, caller: str) -> None:
    document = api.app.openapi()
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app, config=_config(api, caller))
    started = time.monotonic()
    tested, cases, failures = _run(schema)
    took = time.monotonic() - started
    print(f"{caller}: {len(tested)} operations, {cases} requests, {took:.0f} s")
    assert len(tested) == sum(len(operations) for operations in document["paths"].values())
    assert not failures, "\n\n".join(failures.values())


def _config(api: Api, caller: str) -> SchemathesisConfig:
    paths = api.app.openapi()["paths"]
    with_body = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    return SchemathesisConfig.from_dict(
        {
            "seed": 13,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "auth": {"openapi": api.auth[caller]},
            # the existing ids, drawn half the time (else a random one: a 404)
            "dictionaries": {name: {"values": [value]} for name, value in api.ids.items()},
            "parameters": {f"path.{n}": {"dictionary": n, "probability": 0.5} for n in api.ids},
            # the stateful phase (chains of calls) would take minutes more, and reaches little
            # that the ids above do not
            "phases": {
                "stateful": {"enabled": False},
                "coverage": {"enabled": caller != "partner"},
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": VALID_BUT_REFUSED},
                "missing_required_header": {"expected-statuses": MISSING_HEADER},
            },
            "operations": [
                # A JSON body is validated in pydantic's lax mode (FastAPI validates the parsed
                # JSON in Python): false is read as 0, "1.5" as 1.5. The listing document is
                # also the import's and the web form's, which send text, so the API keeps that
                # leniency, and a body of the wrong scalar type need not be refused. A query,
                # a path or a header of the wrong type still must be.
                {
                    "include-name": with_body,
                    "checks": {"negative_data_rejection": {"enabled": False}},
                },
                *_boundaries(caller),
            ],
        }
    )


def _boundaries(caller: str) -> list[dict[str, Any]]:
    """Where the caller's run also tries every boundary of every input (the coverage phase:
    7,500 of the 9,600 requests of the three runs; the fuzzing phase makes 25 per operation
    and caller): once per operation, by a caller who can use it. The coordinator can use all
    but the making of a referral, so the mentor tries the referrals' operations; a partner's
    run (the coverage phase off) reads what a mentor does and is refused the rest (401)
    whatever the input. A listing's change (PATCH, or a suggestion) is only fuzzed: its
    boundaries are those of POST /v1/services (the same fields, 4,200 requests)."""
    if caller == "coordinator":
        return [{"include-name": list(LISTING_CHANGES), **NO_BOUNDARIES}]
    if caller == "mentor":
        return [{"exclude-tag": "referrals", **NO_BOUNDARIES}]
    return []


NO_BOUNDARIES = {"phases": {"coverage": {"enabled": False}}}
LISTING_CHANGES = ("PATCH /v1/services/{service_id}", "POST /v1/services/{service_id}/suggestions")


def _run(schema: Any) -> tuple[set[str], int, dict[tuple[str, str], str]]:
    """The operations tested, the requests made, and each distinct failure's report."""
    tested: set[str] = set()
    cases = 0
    failures: dict[tuple[str, str], str] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status != Status.SKIP:
            tested.add(event.recorder.label)
            cases += len(event.recorder.cases)
            for key, report in _failures(event.recorder):
                failures.setdefault(key, report)
        elif isinstance(event, events.NonFatalError):
            failures[(event.label, "error")] = f"{event.label}: {event.value!r}"
        elif isinstance(event, events.FatalError):
            raise event.exception
    return tested, cases, failures


def _failures(recorder: Any) -> Iterator[tuple[tuple[str, str], str]]:
    """(operation, kind of failure) and a report with a curl that reproduces it."""
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure, sample = check.failure_info.failure, check.failure_info.code_sample
                report = f"{recorder.label}: {failure.title}\n{failure.message}\n{sample}"
                yield (recorder.label, failure.title), report

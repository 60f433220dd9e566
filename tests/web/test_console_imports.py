"""Imports from the console (page tests, TestClient): upload, dry-run report, confirm, summary,
refusals; and the browser journey with axe on each state of the pages."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.models import AuditEntry, User
from directory.api.app import create_app
from directory.config import Settings
from directory.ingest.models import ImportRun
from directory.ingest.runs_work import check
from directory.listings.models import Service
from tests.ingest.test_runs import locator_csv
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.webutil import PASSWORD, csrf, invite, sign_up

LIMIT = 4096


@pytest.fixture
def client(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> Iterator[TestClient]:
    """The app with its data folder in a temporary folder and a small size limit."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, import_max_bytes=LIMIT)
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def upload(
    client: TestClient, data: bytes, name: str = "harbor-peers.csv", **form: str
) -> Response:
    token = csrf(client.get("/console/imports"))
    return client.post(
        "/console/imports",
        data={"csrf": token, "format": "auto", **form},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def post(client: TestClient, path: str) -> Response:
    token = csrf(client.get("/console/imports"))
    return client.post(path, data={"csrf": token}, follow_redirects=False)


def sign_up_in(client: TestClient, session: Session, program: str | None, role: str) -> User:
    """A new person of ``program`` signed in on ``client`` (as ``sign_up``, another program)."""
    email, token = invite(session, role, program=program)
    answer = client.post(
        "/welcome",
        data={"csrf": csrf(client.get(f"/welcome/{token}")), "password": PASSWORD,
              "confirm": PASSWORD},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:6]
    return f"Harbor Peers {tag}", f"Harbor Peers {tag} East"


def test_the_imports_page_offers_the_clis_formats(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console/imports")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert '<option value="auto">Detect automatically</option>' in page.text
    for name in ("hsds", "ohana", "samhsa-directory", "samhsa-locator", "crisis-lines"):
        assert f'<option value="{name}">{name}</option>' in page.text
    assert "deactivate this source's listings missing from the file" in page.text
    assert 'aria-current="page">Imports' in page.text


def test_upload_dry_run_confirm_and_summary(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    good, east = names()
    answer = upload(client, locator_csv(good, "", east))
    assert answer.status_code == 303, answer.text
    run_path = answer.headers["location"]
    run_id = uuid.UUID(run_path.rsplit("/", 1)[1])

    page = client.get(run_path)
    assert "Dry run: nothing was written" in page.text
    assert re.search(
        r'<th scope="row" class="num">3</th><td>name1</td><td>missing name</td>', page.text
    )
    assert "Import it" in page.text and "Discard" in page.text
    assert "Refresh" not in page.headers
    assert session.scalar(select(func.count()).where(Service.name.in_([good, east]))) == 0

    started = post(client, f"{run_path}/confirm")
    assert started.headers["location"] == f"{run_path}?notice=started"
    done = client.get(started.headers["location"])  # the import ran after the response
    assert "The import has started" in done.text
    assert "What the import did" in done.text and "Import it" not in done.text
    figures = dict(re.findall(r'<span class="figure">(\d+)</span> ([^<]+)</li>', done.text))
    assert (figures["2"], figures["1"]) == ("new listings", "rows rejected")
    assert session.scalar(select(func.count()).where(Service.name.in_([good, east]))) == 2
    run = session.get(ImportRun, run_id)
    assert run is not None and (run.status, run.progress) == ("done", 3)

    again = post(client, f"{run_path}/confirm")  # a second click imports nothing more
    assert again.headers["location"] == f"{run_path}?notice=already"
    assert session.scalar(select(func.count()).where(Service.name.in_([good, east]))) == 2
    listing = client.get("/console/imports")
    assert f'href="{run_path}">harbor-peers.csv</a>' in listing.text
    assert "Imported" in listing.text


def test_discard(client: TestClient, session: Session, tmp_path: Path) -> None:
    sign_up(client, session, role="coordinator")
    run_path = upload(client, locator_csv(*names())).headers["location"]
    run_id = run_path.rsplit("/", 1)[1]
    assert (tmp_path / "imports" / run_id / "harbor-peers.csv").exists()
    answer = post(client, f"{run_path}/discard")
    assert answer.headers["location"].endswith("?notice=discarded")
    assert "Discarded: nothing was imported." in client.get(run_path).text
    assert not (tmp_path / "imports" / run_id).exists()


@pytest.mark.parametrize("over", [1, 100 * 1024, 3 * 1024 * 1024])
def test_a_file_over_the_limit_is_refused_on_the_page(
    client: TestClient, session: Session, tmp_path: Path, over: int
) -> None:
    """Just over: refused while it is copied; far over: on its declared length, unread."""
    sign_up(client, session, role="coordinator")
    answer = upload(client, b"x" * (LIMIT + over))
    assert answer.status_code == 413
    assert "The file is larger than the limit of 0.0 MB." in answer.text
    assert 'aria-invalid="true" aria-describedby="file-hint error-file"' in answer.text
    assert not list((tmp_path / "imports").glob("*/*"))


@pytest.mark.parametrize(
    ("name", "form", "field", "says"),
    [
        ("harbor.csv", {"format": "gopher"}, "format", "unknown format &#39;gopher&#39;"),
        ("notes.txt", {}, "format", "not a format this directory reads"),
        ("export.csv", {}, "source", "give it a source name"),
    ],
)
def test_refusals_are_shown_on_the_form(
    client: TestClient, session: Session, name: str, form: dict[str, str], field: str, says: str
) -> None:
    sign_up(client, session, role="coordinator")
    answer = upload(client, locator_csv("Harbor Refused"), name=name, **form)
    assert answer.status_code == 422
    assert says in answer.text
    assert re.search(rf'id="{field}"[^>]* aria-invalid="true"', answer.text)
    assert f'<p class="error" id="error-{field}">' in answer.text


def test_a_running_import_refreshes_itself_and_an_orphan_is_interrupted(
    client: TestClient, session: Session
) -> None:
    user = sign_up_in(client, session, "Page tests", "coordinator")
    run = ImportRun(
        file_name="harbor.csv", file_bytes=10, format="samhsa-locator", source="s:harbor",
        full=False, status="running", records=2, progress=1, started_at=dt.datetime.now(dt.UTC),
        program_id=user.program_id,
    )  # fmt: skip
    session.add(run)
    session.commit()
    page = client.get(f"/console/imports/{run.id}")
    assert page.headers["Refresh"] == "2"
    assert '<progress id="progress" max="2" value="1">' in page.text
    run.started_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)  # and no lock held
    session.commit()
    page = client.get(f"/console/imports/{run.id}")
    assert "Refresh" not in page.headers
    assert "The server stopped while this import ran" in page.text
    assert "The server no longer keeps the file." in page.text
    run.status, run.started_at, run.created_at = "checking", None, dt.datetime.now(dt.UTC)
    session.commit()
    page = client.get(f"/console/imports/{run.id}")
    assert page.headers["Refresh"] == "2"
    assert "Checking the file" in page.text and "1 records read so far." in page.text


def test_a_failed_import_shows_its_message(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    run_path = upload(client, locator_csv(*names())).headers["location"]
    run = session.get(ImportRun, uuid.UUID(run_path.rsplit("/", 1)[1]))
    assert run is not None
    run.status, run.error = "failed", "harbor-peers.csv: not UTF-8 text"
    session.commit()
    page = client.get(run_path)
    assert "The import failed; nothing of it was written." in page.text
    assert "harbor-peers.csv: not UTF-8 text" in page.text
    assert "Import it" not in page.text


def test_the_report_downloads_as_json(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    run_path = upload(client, locator_csv("Harbor Json", "")).headers["location"]
    report = client.get(f"{run_path}/report.json")
    assert report.headers["content-disposition"].startswith("attachment")
    body: dict[str, Any] = report.json()
    assert body["import"] is None
    assert body["dry_run"]["rejections"][0]["reason"] == "missing name"


def test_another_programs_import_is_not_found_and_an_admin_sees_it(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    uploader = sign_up(client, session, role="coordinator")
    run_path = upload(client, locator_csv(*names())).headers["location"]
    run_id = uuid.UUID(run_path.rsplit("/", 1)[1])

    sign_up_in(client, session, "Other page tests", "coordinator")
    assert client.get(run_path).status_code == 404
    assert client.get(f"{run_path}/report.json").status_code == 404
    assert post(client, f"{run_path}/confirm").status_code == 404
    assert post(client, f"{run_path}/discard").status_code == 404
    listing = client.get("/console/imports").text
    assert run_path not in listing and uploader not in listing
    run = session.get(ImportRun, run_id)
    assert run is not None
    session.refresh(run)
    assert (run.status, run.confirmed_by, run.finished_at) == ("checked", None, None)
    assert (tmp_path / "imports" / str(run_id) / "harbor-peers.csv").exists()
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.detail["run_id"].astext == str(run_id))
    )
    assert list(actions) == ["import.upload"]

    sign_up_in(client, session, None, "admin")
    listing = client.get("/console/imports").text
    assert '<th scope="col">Program</th>' in listing
    row = listing[listing.index(f'href="{run_path}"') :].split("</tr>")[0]
    assert f"<td>{uploader}</td>" in row and "<td>Page tests</td>" in row
    page = client.get(run_path)
    assert "<dt>Program</dt><dd>Page tests</dd>" in page.text
    assert "Import it" in page.text


def test_the_reason_of_a_directory_error_shows_on_the_run_page(
    client: TestClient, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user = sign_up_in(client, session, "Page tests", "coordinator")
    run = ImportRun(
        created_by=user.id, program_id=user.program_id, file_name="harbor.csv", file_bytes=10,
        format="samhsa-locator", source="s:harbor", full=False, status="checking", records=0,
        progress=0,
    )  # fmt: skip
    session.add(run)
    session.commit()
    check(session_factory, run.id, tmp_path / "imports")  # its file is not there
    page = client.get(f"/console/imports/{run.id}")
    assert "harbor.csv is no longer kept on the server: upload it again" in page.text
    assert "unexpected error" not in page.text


def test_a_checked_import_left_a_day_expires_and_its_file_goes(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    sign_up(client, session, role="coordinator")
    run_path = upload(client, locator_csv(*names())).headers["location"]
    run = session.get(ImportRun, uuid.UUID(run_path.rsplit("/", 1)[1]))
    assert run is not None
    run.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    session.commit()
    listing = client.get("/console/imports").text
    row = listing[listing.index(f'href="{run_path}"') :].split("</tr>")[0]
    assert '<span class="badge">Expired</span>' in row
    assert not (tmp_path / "imports" / str(run.id)).exists()
    page = client.get(run_path)
    assert "Expired: nobody imported or discarded this file within a day" in page.text
    assert "What the dry run found" in page.text  # the report stays
    assert "Import it" not in page.text
    assert post(client, f"{run_path}/confirm").headers["location"].endswith("?notice=already")


def test_mentors_cannot_import(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="mentor")
    assert client.get("/console/imports").status_code == 403
    assert client.get(f"/console/imports/{uuid.uuid4()}").status_code == 403


def test_an_unknown_run_is_not_found(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    assert client.get(f"/console/imports/{uuid.uuid4()}").status_code == 404


# ---- the browser journey ---------------------------------------------------------------------


def check_in_browser(page: Any, path: Path) -> str:
    """Upload ``path`` on the imports page; the run page's address once the dry run is shown."""
    page.goto("/console/imports")
    page.locator("#file").set_input_files(str(path))
    page.locator("form[action='/console/imports'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/imports/[0-9a-f-]{36}$"))
    # the dry run runs after the answer; the page refreshes itself until it ends
    expect(page.get_by_role("heading", name="What the dry run found")).to_be_visible(timeout=30_000)
    return str(page.url)


def test_import_journey_with_a_bad_row(
    new_context: ContextFactory, live_server: LiveServer, tmp_path: Path
) -> None:
    good, east = names()
    path = tmp_path / f"harbor-{uuid.uuid4().hex[:6]}.csv"
    path.write_bytes(locator_csv(good, "", east))
    page = new_context().new_page()
    sign_in_staff(page, live_server)
    run_url = check_in_browser(page, path)
    rejected = page.get_by_role("table", name="Rejected rows")
    expect(rejected).to_contain_text("missing name")
    expect(rejected.get_by_role("rowheader")).to_have_text(["3"])

    page.get_by_role("button", name="Import it").click()
    expect(page.get_by_role("heading", name="What the import did")).to_be_visible(timeout=30_000)
    figures = page.locator("ul.stats")
    expect(figures).to_contain_text("2 new listings")
    expect(figures).to_contain_text("1 rows rejected")
    with live_server.sessions() as session:
        found = session.scalars(select(Service.name).where(Service.name.like(f"{good}%")))
        assert sorted(found) == [good, east]  # the good rows, not the bad one
        run = session.get(ImportRun, uuid.UUID(run_url.rsplit("/", 1)[1]))
        assert run is not None and (run.status, run.records, run.progress) == ("done", 3, 3)
        assert run.import_report is not None and run.import_report["rejected"] == 1

    waiting = tmp_path / f"waiting-{uuid.uuid4().hex[:6]}.csv"
    waiting.write_bytes(locator_csv(*names()))
    checked_url = check_in_browser(page, waiting)
    assert not axe_problems_everywhere(new_context, live_server, [checked_url, run_url])
    page.goto(checked_url)
    page.get_by_role("button", name="Discard").click()
    expect(page.locator("main")).to_contain_text("Discarded: nothing was imported.")


def axe_problems_everywhere(
    new_context: ContextFactory, live_server: LiveServer, urls: list[str]
) -> list[str]:
    """axe on the imports list and on each run page, in English and Spanish, phone and desktop."""
    problems = []
    for viewport in ("desktop", "phone"):
        for lang in (None, "es"):
            page = new_context(viewport=viewport, lang=lang).new_page()
            sign_in_staff(page, live_server)
            for url in ["/console/imports", *urls]:
                page.goto(url)
                problems += axe_problems(page, f"{url} {viewport} {lang or 'en'}")
    return problems

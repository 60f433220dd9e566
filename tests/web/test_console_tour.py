"""A tour of every console page as a coordinator sees it, with something on each (a queue item
of every kind, an import run, a person): axe finds no serious or critical problem on any of them,
in English and Spanish, on a phone and a desktop, and no page is wider than the screen.

With DIRECTORY_SCREENSHOTS set, a full-page PNG of each goes there
(``console-<page>-<lang>-<viewport>.png``): ``DIRECTORY_SCREENSHOTS=docs/screenshots
.venv/bin/pytest tests/web/test_console_tour.py``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from directory.accounts.models import User
from tests.ingest.test_runs import locator_csv
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.test_console_imports import check_in_browser, names
from tests.web.test_console_queue import queue_of_every_kind

PAGES = (
    ("home", "/console"),
    ("listings", "/console/listings?stale=1"),
    ("listing", "/console/listings/{listing}"),
    ("editor", "/console/listings/{listing}/edit"),
    ("new-listing", "/console/listings/new"),
    ("queue", "/console/queue"),
    ("imports", "/console/imports"),
    ("import-run", "{run}"),
    ("people", "/console/people"),
    ("person", "/console/people/{person}"),
    ("program", "/console/program"),
    ("keys", "/console/keys"),
    ("outcomes", "/console/outcomes"),
    ("unmet", "/console/unmet"),
    ("audit", "/console/audit"),
    ("public-listing", "/l/{listing}"),  # the pages partners send people to, as staff see them
    ("embed", "/embed"),
)


@pytest.fixture(scope="module")
def places() -> dict[str, str]:
    """The ids the tour's addresses need, filled by the first tour."""
    return {}


def _fill(
    places: dict[str, str], new_context: ContextFactory, live: LiveServer, tmp_path: Path
) -> None:
    """Something on every page: a queue item of each kind, a checked import, a mentor."""
    queue_of_every_kind(live)
    page = new_context().new_page()
    sign_in_staff(page, live)
    upload = tmp_path / f"tour-{uuid.uuid4().hex[:6]}.csv"
    upload.write_bytes(locator_csv(names()[0], "", names()[1]))
    places["run"] = check_in_browser(page, upload).removeprefix(live.base_url)
    email = live.account()
    with live.sessions() as session:
        places["person"] = str(session.scalars(select(User.id).where(User.email == email)).one())
    places["listing"] = str(live.demo_listing("Perinatal"))  # stale, on a waitlist


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_console_page(
    new_context: ContextFactory,
    live_server: LiveServer,
    places: dict[str, str],
    tmp_path: Path,
    lang: str,
    viewport: str,
) -> None:
    if not places:
        _fill(places, new_context, live_server, tmp_path)
    folder = os.environ.get("DIRECTORY_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    page = new_context(viewport=viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    problems: list[str] = []
    for name, address in PAGES:
        answer = page.goto(address.format(**places))
        assert answer is not None and answer.status == 200, f"{name}: {address}"
        problems.extend(axe_problems(page, f"{name} ({lang}, {viewport})"))
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wide > 0:  # tables scroll in their own box; the page never does
            problems.append(f"{name} ({lang}, {viewport}): {wide} px wider than the screen")
        if shots:
            shot = shots / f"console-{name}-{lang}-{viewport}.png"
            page.screenshot(path=str(shot), full_page=True)
    assert not problems, "axe found serious or critical problems:\n" + "\n".join(problems)

"""What browser tests share: accessibility checks (axe), and signing in staff to the console."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import PASSWORD, LiveServer


def axe_problems(page: Page, name: str) -> list[str]:
    """The serious and critical axe violations of the page, described for fixing."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        targets = [", ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        problems.append(
            f"{name} ({page.url}): {violation['id']} [{violation['impact']}] "
            f"{violation['help']} ({violation['helpUrl']}) at {targets}"
        )
    return problems


def sign_in_staff(page: Page, live: LiveServer, role: str = "coordinator") -> str:
    """A new coordinator (or admin) of the browser program, signed in on ``page``; the email.
    The page is left on the console's first page."""
    email = live.account(role=role)
    page.goto("/sign-in?next=/console")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    return email

"""Signing in to the web app: invitations, passwords, sessions, form tokens, throttling."""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directory.accounts import invites, passwords
from directory.accounts.models import SignInFailure, SignInLink, User, WebSession
from directory.config import Settings
from directory.errors import TooManyRequests
from directory.web.deps import SESSION_COOKIE, cookie_options
from tests.conftest import bearer
from tests.web.webutil import PASSWORD, csrf, invite, post_form, sign_up


def test_an_invitation_lets_a_person_choose_a_password_and_signs_them_in(
    client: TestClient, session: Session
) -> None:
    email, token = invite(session)
    link = client.get(f"/welcome/{token}", follow_redirects=False)
    assert link.status_code == 303 and link.headers["location"] == "/welcome"
    assert link.headers["referrer-policy"] == "no-referrer"
    assert (
        "HttpOnly" in link.headers["set-cookie"] and "Path=/welcome" in link.headers["set-cookie"]
    )
    page = client.get("/welcome")
    assert page.status_code == 200
    assert email in page.text
    assert token not in page.text  # the token is no longer in any address or link
    answer = client.post(
        "/welcome",
        data={"csrf": csrf(page), "password": PASSWORD, "confirm": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/search"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development; production: see below
    search = client.get("/search")
    assert search.status_code == 200 and 'name="q"' in search.text
    stored = session.scalars(select(User.password_hash).where(User.email == email)).one()
    assert stored is not None and stored.startswith("$argon2id$")
    # The link worked once.
    assert client.get(f"/welcome/{token}").status_code == 410


def test_a_link_expires_after_72_hours_and_a_new_invitation_replaces_the_old(
    client: TestClient, session: Session
) -> None:
    _, first = invite(session)
    session.execute(
        update(SignInLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    session.commit()
    assert client.get(f"/welcome/{first}").status_code == 410
    _, second = invite(session)
    _, third = invite(session)  # another person
    assert client.get(f"/welcome/{second}").status_code == 200
    assert client.get(f"/welcome/{third}").status_code == 200


def test_a_password_must_be_long_and_typed_twice(client: TestClient, session: Session) -> None:
    _, token = invite(session)
    page = client.get(f"/welcome/{token}")
    short = client.post(
        "/welcome", data={"csrf": csrf(page), "password": "short", "confirm": "short"}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    different = client.post(
        "/welcome",
        data={"csrf": csrf(page), "password": PASSWORD, "confirm": PASSWORD + "x"},
    )
    assert different.status_code == 422 and "not the same" in different.text
    assert client.get(f"/welcome/{token}").status_code == 200  # still usable


def test_sign_in_out_and_wrong_passwords(client: TestClient, session: Session) -> None:
    email = sign_up(client, session)
    assert post_form(client, "/sign-out", {}, form_page="/account").status_code == 303
    assert client.get("/search", follow_redirects=False).status_code == 303
    wrong = post_form(client, "/sign-in", {"email": email, "password": "nope" * 3})
    assert wrong.status_code == 401
    assert "do not match an account" in wrong.text
    right = post_form(
        client, "/sign-in", {"email": email.upper(), "password": PASSWORD, "next": "/my-list"}
    )
    assert right.status_code == 303 and right.headers["location"] == "/my-list"
    assert client.get("/my-list").status_code == 200


def test_sign_in_goes_back_only_to_our_own_pages(client: TestClient, session: Session) -> None:
    email = sign_up(client, session)
    client.cookies.clear()
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = post_form(client, "/sign-in", {"email": email, "password": PASSWORD, "next": evil})
        assert answer.headers["location"] == "/search"
        client.cookies.delete(SESSION_COOKIE)


def test_guessing_is_throttled_per_account(client: TestClient, session: Session) -> None:
    email = sign_up(client, session)
    client.cookies.clear()
    for _ in range(5):
        assert (
            post_form(client, "/sign-in", {"email": email, "password": "x" * 12}).status_code == 401
        )
    blocked = post_form(client, "/sign-in", {"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Try again in" in blocked.text


def test_guessing_is_throttled_per_address(client: TestClient, session: Session) -> None:
    for n in range(50):
        answer = post_form(
            client, "/sign-in", {"email": f"nobody{n}@example.org", "password": "x" * 12}
        )
        assert answer.status_code == 401
    assert (
        post_form(
            client, "/sign-in", {"email": "another@example.org", "password": "x" * 12}
        ).status_code
        == 429
    )


def test_the_failures_table_keeps_no_typed_text(client: TestClient, session: Session) -> None:
    typed = "my-secret-password-in-the-wrong-box"
    post_form(client, "/sign-in", {"email": typed, "password": "x" * 12})
    rows = session.execute(select(SignInFailure.account, SignInFailure.address)).all()
    assert rows and all(
        typed not in account and "testclient" not in address for account, address in rows
    )


def test_parallel_guesses_cannot_slip_under_the_limit(engine: Engine) -> None:
    """Ten guesses at once on two connections' worth of threads: only the first five are
    checked (the count waits for the account's advisory lock), the rest are refused."""
    email = f"race-{os.urandom(4).hex()}@example.org"

    def guess(_: int) -> str:
        with Session(engine) as own, own.begin():
            try:
                passwords.authenticate(own, email, "x" * 12, address="203.0.113.9", secret="s")
            except TooManyRequests:
                return "refused"
            return "checked"

    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            outcomes = list(pool.map(guess, range(10)))
        assert outcomes.count("checked") == passwords.PER_PAIR
        assert outcomes.count("refused") == 10 - passwords.PER_PAIR
    finally:
        with Session(engine) as own, own.begin():
            own.execute(delete(SignInFailure))


def test_forms_without_our_token_are_refused(client: TestClient, session: Session) -> None:
    email = sign_up(client, session)
    for path in ("/sign-out", "/sign-out-everywhere"):
        refused = client.post(path, data={"csrf": "forged"}, follow_redirects=False)
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    no_token = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert no_token.status_code == 403
    other_site = client.post(
        "/sign-out",
        data={"csrf": csrf(client.get("/account"))},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert other_site.status_code == 403
    assert client.get("/search").status_code == 200  # still signed in


def test_an_idle_session_ends_after_30_minutes(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    session.execute(update(WebSession).values(last_seen_at=func.now() - dt.timedelta(minutes=31)))
    session.commit()
    answer = client.get("/follow-ups", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/follow-ups&expired=1"
    assert "30 minutes" in client.get(answer.headers["location"]).text
    post_form(client, "/sign-in", {"email": "someone@example.org", "password": "x" * 12})
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0  # purged


def test_sign_out_everywhere_ends_every_session(client: TestClient, session: Session) -> None:
    email = sign_up(client, session)
    first = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    post_form(client, "/sign-in", {"email": email, "password": PASSWORD})
    assert client.cookies.get(SESSION_COOKIE) != first
    assert post_form(client, "/sign-out-everywhere", {}, form_page="/account").status_code == 303
    client.cookies.set(SESSION_COOKIE, first or "")
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_the_front_door_and_bearer_tokens(client: TestClient, session: Session) -> None:
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 303 and front.headers["location"] == "/sign-in"
    sign_up(client, session)
    assert client.get("/", follow_redirects=False).headers["location"] == "/search"
    api = client.get("/v1/search?q=anxiety", headers=bearer(session, "mentor"))
    assert api.status_code == 200 and api.json()["total"] > 0


def test_errors_are_pages_for_people_and_json_for_the_api(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text
    api = client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"] == "NotFound"


def test_cookies_are_secure_in_production() -> None:
    settings = Settings(
        env="production",
        secret_key="Zq7-pW3x_Lm9Rt2Vb8Nc4Yh6Kd1Sf5Gj0",
        database_url="postgresql://x@y/z",
    )
    assert cookie_options(settings)["secure"] is True
    assert cookie_options(Settings())["secure"] is False


def test_a_new_link_resets_the_password_and_ends_the_old_sessions(
    client: TestClient, session: Session
) -> None:
    email = sign_up(client, session)
    old_cookie = client.cookies.get(SESSION_COOKIE)
    _, token = invites.invite(session, email=email, role="mentor", program="Page tests")
    session.commit()
    page = client.get(f"/welcome/{token}")
    assert page.status_code == 200  # someone with a password can be sent a new link
    client.post(
        "/welcome",
        data={
            "csrf": csrf(page),
            "password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old_cookie or "")
    assert client.get("/search", follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert post_form(client, "/sign-in", {"email": email, "password": PASSWORD}).status_code == 401


def test_removing_the_demo_turns_the_demo_accounts_off(
    client: TestClient, session: Session
) -> None:
    accounts = invites.demo_accounts(session, program="Demo program")
    session.commit()
    _, token = accounts[0]
    page = client.get(f"/welcome/{token}")
    client.post("/welcome", data={"csrf": csrf(page), "password": PASSWORD, "confirm": PASSWORD})
    assert client.get("/search").status_code == 200
    assert invites.retire_demo_accounts(session) == 2
    session.commit()
    assert client.get("/search", follow_redirects=False).status_code == 303
    again = invites.demo_accounts(session, program="Demo program")
    assert again[0][1] is None  # set up already: signs in with its password
    session.commit()
    assert (
        post_form(
            client, "/sign-in", {"email": accounts[0][0].email, "password": PASSWORD}
        ).status_code
        == 303
    )


def test_htmx_and_forms_after_the_session_ended(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    session.execute(update(WebSession).values(last_seen_at=func.now() - dt.timedelta(hours=1)))
    session.commit()
    partial = client.get("/search?q=x", headers={"HX-Request": "true"}, follow_redirects=False)
    assert partial.status_code == 204  # htmx replaces the whole page, not the results
    assert partial.headers["HX-Redirect"].startswith("/sign-in?next=/search")
    posted = client.post(
        "/listings/00000000-0000-0000-0000-000000000000/save",
        data={"csrf": "x"},
        headers={"Referer": "http://testserver/listings/abc"},
        follow_redirects=False,
    )
    assert posted.headers["location"] == "/sign-in?next=/listings/abc&expired=1"  # the page


def test_a_form_through_a_proxy_with_the_public_host(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    token = csrf(client.get("/account"))
    public = client.app.state.settings.base_url  # type: ignore[attr-defined]
    answer = client.post(
        "/sign-out", data={"csrf": token}, headers={"Origin": public}, follow_redirects=False
    )
    assert answer.status_code == 303

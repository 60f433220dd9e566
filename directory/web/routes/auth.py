"""Signing in and out, choosing a password from an invitation, and the language switch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from directory.accounts import invites, passwords, sessions
from directory.api.deps import SessionDep
from directory.errors import InvalidInput, TooManyRequests
from directory.web import i18n
from directory.web.deps import (
    SESSION_COOKIE,
    Form,
    PageContext,
    SignedIn,
    Viewer,
    local_path,
)
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
WELCOME_COOKIE = "dir_welcome"
WELCOME_MAX_AGE = 30 * 60  # the invitation itself stays valid its 72 hours


def _signed_in(request: Request, token: str, to: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, **request.state.cookie_options)
    return response


@router.get("/")
def home(user: Viewer) -> Response:
    """The app: search when signed in, else the sign-in page."""
    return RedirectResponse("/search" if user else "/sign-in", status_code=303)


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    user: Viewer,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    expired: bool = False,
) -> Response:
    if user is not None:
        return RedirectResponse(local_path(next), status_code=303)
    minutes = request.app.state.settings.session_idle_minutes
    notice = gettext(request, "You were signed out after %(minutes)s minutes without activity.") % {
        "minutes": minutes
    }
    return render(
        request,
        "sign_in.html",
        {"next": local_path(next), "notice": notice if expired else None, "email": ""},
    )


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, form: Form) -> Response:
    email = form.get("email", "")[:320]
    address = request.client.host if request.client else "unknown"
    context = {"next": local_path(form.get("next")), "email": email}
    settings = request.app.state.settings
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    sessions.purge(session, idle=idle)
    passwords.forget_old_failures(session)
    try:
        user = passwords.authenticate(
            session, email, form.get("password", ""), address=address, secret=settings.secret_key
        )
    except TooManyRequests as error:
        minutes = max(1, error.retry_after // 60)
        message = gettext(request, "Too many failed attempts. Try again in %(minutes)s minutes.")
        return render(
            request,
            "sign_in.html",
            {**context, "error": message % {"minutes": minutes}},
            status=429,
        )
    if user is None:
        message = gettext(request, "That email and password do not match an account.")
        return render(request, "sign_in.html", {**context, "error": message}, status=401)
    return _signed_in(request, sessions.start(session, user), context["next"])


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, user: SignedIn, form: Form) -> Response:
    sessions.end(session, request.state.session_token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/sign-out-everywhere")
def sign_out_everywhere(session: SessionDep, user: SignedIn, form: Form) -> Response:
    sessions.end_all(session, user)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(request: Request, user: SignedIn) -> Response:
    minutes = request.app.state.settings.session_idle_minutes
    return render(request, "account.html", {"idle_minutes": minutes})


@router.get("/welcome/{token}")
def welcome_link(request: Request, session: SessionDep, token: str) -> Response:
    """An invitation link: its token moves into a short-lived cookie and out of the address
    (so it is not kept in history, logs or a language switch's link)."""
    if invites.pending(session, token[:100]) is None:
        return render(request, "welcome.html", {"invalid": True}, status=410)
    response = RedirectResponse("/welcome", status_code=303)
    options = {**request.state.cookie_options, "path": "/welcome"}
    response.set_cookie(WELCOME_COOKIE, token[:100], max_age=WELCOME_MAX_AGE, **options)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/welcome")
def welcome_page(request: Request, session: SessionDep) -> Response:
    """Choose a password."""
    token = request.cookies.get(WELCOME_COOKIE, "")
    invitee = invites.pending(session, token) if token else None
    if invitee is None:
        return render(request, "welcome.html", {"invalid": True}, status=410)
    return render(request, "welcome.html", {"invitee": invitee})


@router.post("/welcome")
def welcome(request: Request, session: SessionDep, form: Form) -> Response:
    token = request.cookies.get(WELCOME_COOKIE, "")
    invitee = invites.pending(session, token) if token else None
    if invitee is None:
        return render(request, "welcome.html", {"invalid": True}, status=410)
    password = form.get("password", "")
    if password != form.get("confirm", ""):
        error = gettext(request, "The two passwords are not the same.")
        return render(request, "welcome.html", {"invitee": invitee, "error": error}, status=422)
    try:
        user = invites.accept(session, token, password)
    except InvalidInput as problem:
        error = gettext(request, "Choose another password: %(reason)s.") % {
            "reason": gettext(request, problem.detail)
        }
        return render(request, "welcome.html", {"invitee": invitee, "error": error}, status=422)
    if user is None:
        return render(request, "welcome.html", {"invalid": True}, status=410)
    response = _signed_in(request, sessions.start(session, user), "/search")
    response.delete_cookie(WELCOME_COOKIE, path="/welcome")
    return response


@router.get("/language/{lang}")
def language(
    request: Request, lang: str, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """Switch the language (remembered in a cookie) and go back to the page."""
    response = RedirectResponse(local_path(next), status_code=303)
    if lang in i18n.LANGUAGES:
        options = {**request.state.cookie_options, "httponly": False}
        response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 24 * 3600, **options)
    return response

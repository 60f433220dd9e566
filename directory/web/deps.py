"""What every page needs: the language, the visitor (signed in or not) and the form token."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from directory.accounts import roles, sessions
from directory.accounts.models import User
from directory.api.deps import SessionDep
from directory.config import Settings
from directory.web import i18n

SESSION_COOKIE = "dir_session"
ANON_COOKIE = "dir_anon"  # an anonymous visitor's form-token key (the sign-in form's)


class SignInRequired(Exception):
    """The page needs a signed-in person: go to the sign-in page, then come back."""

    def __init__(self, next_path: str, *, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class FormRefused(Exception):
    """A form without a valid token (another site's, or one from an ended session)."""


def cookie_options(settings: Settings, *, http_only: bool = True) -> dict[str, object]:
    """Our cookies: not for scripts, not sent along with other sites' forms, HTTPS-only in
    production."""
    return {
        "httponly": http_only,
        "samesite": "lax",
        "secure": settings.env == "production",
        "path": "/",
    }


async def page_context(request: Request) -> None:
    """Language, cookie options, and the anonymous form-token key (made when missing)."""
    settings: Settings = request.app.state.settings
    request.state.lang = i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )
    request.state.cookie_options = cookie_options(settings)
    request.state.set_cookies = {}
    request.state.user = None
    anon = request.cookies.get(ANON_COOKIE)
    if not anon or len(anon) > 64:
        anon = secrets.token_urlsafe(24)
        request.state.set_cookies[ANON_COOKIE] = anon
    request.state.csrf_key = "anon:" + anon
    request.state.csrf = sessions.csrf_token(settings.secret_key, request.state.csrf_key)


PageContext = Depends(page_context)


def viewer(request: Request, session: SessionDep) -> User | None:
    """The signed-in person, if any (their session is touched)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    settings: Settings = request.app.state.settings
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    user = sessions.resume(session, token, idle=idle)
    if user is not None:
        request.state.user = user
        request.state.session_token = token
        request.state.csrf_key = "session:" + token
        request.state.csrf = sessions.csrf_token(settings.secret_key, request.state.csrf_key)
    return user


Viewer = Annotated[User | None, Depends(viewer)]


def signed_in(request: Request, user: Viewer) -> User:
    """The signed-in person; else a redirect to sign in (and back here afterwards)."""
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":  # come back to the page the form was on, not its target
            referer = urlsplit(request.headers.get("referer", ""))
            here = referer.path if referer.netloc in our_hosts(request) else "/search"
        raise SignInRequired(here, expired=SESSION_COOKIE in request.cookies)
    return user


def our_hosts(request: Request) -> set[str]:
    """The host (and port) of this site: the request's, and the public one behind a proxy."""
    settings: Settings = request.app.state.settings
    return {request.url.netloc, urlsplit(settings.base_url).netloc}


SignedIn = Annotated[User, Depends(signed_in)]


async def checked_form(request: Request) -> dict[str, str]:
    """A posted form whose token belongs to this visitor, as a plain dict (the last value of
    each field; repeated fields are read with ``form_list``)."""
    form = await request.form()
    settings: Settings = request.app.state.settings
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc not in our_hosts(request):
        raise FormRefused()
    token = form.get("csrf")
    if not isinstance(token, str) or not sessions.csrf_valid(
        settings.secret_key, request.state.csrf_key, token
    ):
        raise FormRefused()
    request.state.form_lists = {key: form.getlist(key) for key in form}
    return {key: value for key, value in form.items() if isinstance(value, str)}


Form = Annotated[dict[str, str], Depends(checked_form)]


def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (check boxes)."""
    values = request.state.form_lists.get(name, [])
    return [v for v in values if isinstance(v, str)]


def local_path(value: str | None, default: str = "/search") -> str:
    """A path on this site to go back to (never another site: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def sign_in_url(next_path: str, *, expired: bool = False) -> str:
    suffix = "&expired=1" if expired else ""
    return f"/sign-in?next={quote(next_path, safe='/')}{suffix}"


def staff(user: SignedIn) -> User:
    """A signed-in coordinator or admin (the console's pages); a 403 page for anyone else."""
    return roles.require(user, "curate")


Staff = Annotated[User, Depends(staff)]

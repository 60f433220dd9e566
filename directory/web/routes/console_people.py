"""The program in the console: its people (invite, role, program, access, a fresh sign-in), its
name and mentee-code pattern, and partner keys. The rules are the services' (``people``,
``keys``, ``service``): the CLI and these pages agree.

A one-time secret (a sign-in link, a new key) is shown on the page the form redirects to: it
rides there in a short-lived cookie of that page's path, read once and deleted, so a reload
neither posts the form again nor shows the secret again. It is never stored in plain form.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from directory.accounts import invites, keys, people, roles
from directory.accounts.models import PartnerKey, User
from directory.accounts.service import code_refusal, program_of, programs, update_program
from directory.api.deps import SessionDep
from directory.errors import Conflict, InvalidInput, NotFound
from directory.web.deps import Form, PageContext, Staff
from directory.web.templating import gettext, render

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
ONCE_COOKIE = "dir_once"
ONCE_MAX_AGE = 5 * 60  # long enough to follow the redirect; the link itself lasts 72 hours
PEOPLE = "/console/people"
KEYS = "/console/keys"
ACTIONS = ("role", "program", "deactivate", "reactivate", "reset", "revoke-tokens")


# -- People --------------------------------------------------------------------------------


@router.get(PEOPLE)
def people_page(
    request: Request,
    session: SessionDep,
    user: Staff,
    program: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    invited = _once_link(request, session)
    return _once_shown(request, PEOPLE, _people(request, session, user, program, invited=invited))


@router.post(PEOPLE)
def invite(request: Request, session: SessionDep, user: Staff, form: Form) -> Response:
    fields = {name: form.get(name, "").strip() for name in ("email", "role", "program")}
    try:
        _, token = people.invite_person(
            session, email=fields["email"], role=fields["role"], program=fields["program"], by=user
        )
    except (InvalidInput, Conflict) as error:
        errors = {error.field or "email": _message(request, error.detail)}
        return _people(request, session, user, None, form=fields, errors=errors, status=422)
    return _once_redirect(request, PEOPLE, token, PEOPLE)


def _people(
    request: Request,
    session: Session,
    user: User,
    program: uuid.UUID | None,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    invited: tuple[User, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "people": people.people(session, in_program=program, by=user),
        "programs": programs(session) if roles.can(user, "manage-all-programs") else [],
        "chosen": program,
        "form": form or {"role": "mentor"},
        "errors": errors or {},
        "invited": invited,
    }
    return render(request, "console/people.html", context, status=status)


@router.get(PEOPLE + "/{user_id}")
def person_page(request: Request, session: SessionDep, user: Staff, user_id: uuid.UUID) -> Response:
    link = _once_link(request, session)
    shown = link if link is not None and link[0].id == user_id else None
    return _once_shown(request, PEOPLE, _person(request, session, user, user_id, link=shown))


@router.post(PEOPLE + "/{user_id}/{action}")
def person_action(
    request: Request, session: SessionDep, user: Staff, form: Form, user_id: uuid.UUID, action: str
) -> Response:
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:40]}")
    email = people.person(session, user_id, by=user).email
    try:
        token = _act(session, user, email, action, form)
    except (InvalidInput, Conflict) as error:
        errors = {action: _message(request, error.detail)}
        return _person(request, session, user, user_id, errors=errors, status=422)
    here = f"{PEOPLE}/{user_id}"
    if token is not None:
        return _once_redirect(request, here, token, PEOPLE)
    return RedirectResponse(f"{here}?done={action}", status_code=303)


def _act(session: Session, user: User, email: str, action: str, form: dict[str, str]) -> str | None:
    """Do one action on a person; a new sign-in link's token when it makes one."""
    if action == "role":
        people.set_role(session, email, form.get("role", ""), by=user)
    elif action == "program":
        people.set_program(session, email, form.get("program", "").strip() or None, by=user)
    elif action == "deactivate":
        people.deactivate(session, email, by=user)
    elif action == "reactivate":
        people.reactivate(session, email, by=user)
    elif action == "revoke-tokens":
        people.revoke_tokens(session, email, by=user)
    elif action == "reset":
        return people.reset_sign_in(session, email, by=user)[1]
    return None


def _person(
    request: Request,
    session: Session,
    user: User,
    user_id: uuid.UUID,
    *,
    link: tuple[User, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    done = request.query_params.get("done")
    context = {
        "person": people.person(session, user_id, by=user),
        "programs": programs(session) if roles.can(user, "manage-all-programs") else [],
        "link": link,
        "errors": errors or {},
        "notice": _done(request, done) if done in ACTIONS and status == 200 else None,
    }
    return render(request, "console/person.html", context, status=status)


def _done(request: Request, action: str) -> str:
    return {
        "role": gettext(request, "Role changed. It applies from their next sign-in."),
        "program": gettext(request, "Program changed. It applies from their next sign-in."),
        "deactivate": gettext(request, "Deactivated: signed out everywhere, tokens revoked."),
        "reactivate": gettext(request, "Active again."),
        "revoke-tokens": gettext(request, "Their API tokens are revoked."),
        "reset": gettext(request, "Signed out everywhere. Send them the new sign-in link."),
    }[action]


# -- The program ---------------------------------------------------------------------------


@router.get("/console/program")
def program_page(
    request: Request,
    session: SessionDep,
    user: Staff,
    chosen: Annotated[uuid.UUID | None, Query(alias="id")] = None,
) -> Response:
    program = program_of(session, user, chosen)
    form = {"name": program.name, "pattern": program.mentee_ref_pattern or "", "sample": ""}
    saved = request.query_params.get("saved") == "1"
    notice = gettext(request, "Saved.") if saved else None
    return _program(request, session, user, program.id, form, notice=notice)


@router.post("/console/program")
def save_program(request: Request, session: SessionDep, user: Staff, form: Form) -> Response:
    program = program_of(session, user, _uuid(form.get("id")))
    fields = {name: form.get(name, "") for name in ("name", "pattern", "sample")}
    pattern = fields["pattern"].strip() or None
    try:
        if form.get("intent") == "check":
            refusal = code_refusal(session, pattern, fields["sample"])
            return _program(request, session, user, program.id, fields, checked=(refusal,))
        update_program(session, program, name=fields["name"], pattern=pattern, by=user)
    except (InvalidInput, Conflict) as error:
        errors = {error.field or "pattern": _message(request, error.detail)}
        return _program(request, session, user, program.id, fields, errors=errors, status=422)
    return RedirectResponse(f"/console/program?id={program.id}&saved=1", status_code=303)


def _program(
    request: Request,
    session: Session,
    user: User,
    program_id: uuid.UUID,
    form: dict[str, str],
    *,
    checked: tuple[str | None] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "program_id": program_id,
        "programs": programs(session) if roles.can(user, "manage-all-programs") else [],
        "form": form,
        "checked": checked is not None,
        "refusal": _message(request, checked[0]) if checked and checked[0] else "",
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, "console/program.html", context, status=status)


# -- Partner keys --------------------------------------------------------------------------


@router.get(KEYS)
def keys_page(request: Request, session: SessionDep, user: Staff) -> Response:
    raw = request.cookies.get(ONCE_COOKIE, "")[:100]
    new = keys.key_for(session, raw) if raw else None
    page = _keys(request, session, user, new=(new, raw) if new is not None else None)
    return _once_shown(request, KEYS, page)


@router.post(KEYS)
def create_key(request: Request, session: SessionDep, user: Staff, form: Form) -> Response:
    fields = {name: form.get(name, "") for name in ("name", "origins", "rate", "program")}
    try:
        _, raw = keys.create_key(
            session,
            name=fields["name"],
            origins=fields["origins"].splitlines(),
            rate_text=fields["rate"] or keys.DEFAULT_RATE,
            program_id=_uuid(fields["program"]),  # an admin's choice; a coordinator's: theirs
            by=user,
        )
    except (InvalidInput, Conflict) as error:
        errors = {error.field or "name": _message(request, error.detail)}
        return _keys(request, session, user, form=fields, errors=errors, status=422)
    return _once_redirect(request, KEYS, raw, KEYS)


@router.post(KEYS + "/{key_id}/revoke")
def revoke_key(session: SessionDep, user: Staff, form: Form, key_id: uuid.UUID) -> Response:
    keys.revoke_key_id(session, key_id, by=user)
    return RedirectResponse(f"{KEYS}?revoked={key_id}", status_code=303)


def _keys(
    request: Request,
    session: Session,
    user: User,
    *,
    new: tuple[PartnerKey, str] | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    revoked = request.query_params.get("revoked")
    own = str(user.program_id) if user.program_id else ""
    context = {
        "keys": keys.all_keys(session, by=user),
        "programs": programs(session) if roles.can(user, "manage-all-programs") else [],
        "new": new,
        "base_url": request.app.state.settings.base_url.rstrip("/"),
        "form": form or {"rate": keys.DEFAULT_RATE, "program": own},
        "errors": errors or {},
        "notice": gettext(request, "The key is revoked.") if revoked and not errors else None,
    }
    return render(request, "console/keys.html", context, status=status)


# -- Shared --------------------------------------------------------------------------------


def _once_redirect(request: Request, to: str, secret: str, path: str) -> Response:
    """Go to the page that shows the secret once."""
    response = RedirectResponse(to, status_code=303)
    options = {**request.state.cookie_options, "path": path}
    response.set_cookie(ONCE_COOKIE, secret, max_age=ONCE_MAX_AGE, **options)
    return response


def _once_link(request: Request, session: Session) -> tuple[User, str] | None:
    """The person and sign-in link a form just made, if this page is the one to show it."""
    token = request.cookies.get(ONCE_COOKIE, "")[:100]
    found = invites.pending(session, token) if token else None
    return (found, invites.link_url(request.app.state.settings.base_url, token)) if found else None


def _once_shown(request: Request, path: str, response: Response) -> Response:
    if ONCE_COOKIE in request.cookies:
        response.delete_cookie(ONCE_COOKIE, path=path)
    return response


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _message(request: Request, detail: str) -> str:
    """What the service refused, in the page's language."""
    known = {
        "not an email": gettext(request, "Enter an email address, such as name@example.org."),
        "already has an account": gettext(
            request, "This person already has an account: open it to reset their sign-in."
        ),
        "already a": gettext(request, "This email belongs to someone else's account."),
        "origin's host": gettext(
            request,
            "An origin's host is a domain name (such as partner.example.org), localhost or an"
            " IPv4 address.",
        ),
        "an origin": gettext(
            request, "Each origin is scheme://host[:port], such as https://partner.example.org."
        ),
        "at least one": gettext(request, "Give at least one origin, one per line."),
        "a rate is": gettext(request, "A rate is a number per second, minute or hour: 120/minute."),
        "a key needs a name": gettext(request, "Name the partner site (1 to 200 characters)."),
        "program name": gettext(request, "A program's name is 1 to 200 characters."),
        "another program": gettext(request, "Another program has this name."),
        "regular expression": gettext(request, "This is not a valid pattern: %(detail)s")
        % {"detail": detail.partition(": ")[2]},
        "code pattern is": gettext(request, "A code pattern is 1 to 200 characters."),
        "the pattern": gettext(request, "It does not match the pattern."),
        "deactivated": gettext(request, "They are deactivated: reactivate them first."),
        "role must be": gettext(request, "Choose one of the roles."),
    }
    return next((text for key, text in known.items() if key in detail), gettext(request, detail))

"""``directory users``, ``programs`` and ``keys``: accounts, programs and partner keys from a
terminal (the same service functions as the API and the coordinator pages)."""

from __future__ import annotations

from typing import Annotated

import typer

from directory.cli_support import fail, settings, unit

# The same as accounts.models.ROLES and accounts.keys.DEFAULT_RATE (tests/test_startup.py checks):
# spelled out here because the help text is read before any command runs, and those modules
# load the ORM.
ROLES = ("admin", "coordinator", "mentor")
DEFAULT_RATE = "120/minute"

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
programs_app = typer.Typer(help="Peer-mentoring programs.", no_args_is_help=True)
keys_app = typer.Typer(help="Partner keys for embedded search.", no_args_is_help=True)


@users_app.command("invite")
def users_invite(
    email: Annotated[str, typer.Option(help="The person's email address")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    program: Annotated[
        str | None, typer.Option(help="The program they belong to (made when new)")
    ] = None,
) -> None:
    """Invite someone to the web app: prints a one-time sign-in link (valid 72 hours) on the
    last line; opening it lets them choose a password. Inviting again replaces the link."""
    from directory.accounts import people
    from directory.accounts.invites import VALID_FOR, link_url

    base_url = settings().base_url
    with unit() as session:
        user, token = people.invite_person(
            session, email=email, role=role, program=program, by=None, again=True
        )
    hours = int(VALID_FOR.total_seconds() // 3600)
    typer.echo(f"{user.role} {user.email}: sign-in link (once, within {hours} hours):")
    typer.echo(link_url(base_url, token))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email address")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    program: Annotated[
        str | None, typer.Option(help="The program the user belongs to (made when new)")
    ] = None,
) -> None:
    """Create a user; prints its bearer token alone on the last line, once."""
    from directory.accounts.service import create_user

    with unit() as session:
        user, token = create_user(session, email=email, role=role, program=program)
    days = settings().token_days
    lasts = f", valid {days} days (DIRECTORY_TOKEN_DAYS)" if days else ""
    typer.echo(f"created {user.role} {user.email} ({user.id}); bearer token (shown once{lasts}):")
    typer.echo(token)


@programs_app.command("code-pattern")
def programs_code_pattern(
    program: Annotated[str, typer.Argument(help="The program's name")],
    pattern: Annotated[
        str | None,
        typer.Argument(help="What its mentee codes look like, e.g. 'HP-[0-9]{4}'"),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the pattern")] = False,
) -> None:
    """Make referrals of a program use mentee codes of one shape (a regular expression matched
    whole, case aside), so that a name cannot pass for a code."""
    if (pattern is None) == (not clear):
        raise fail("give a pattern, or --clear")
    from directory.accounts.service import set_code_pattern

    with unit() as session:
        found = set_code_pattern(session, program, None if clear else pattern)
        shown = found.mentee_ref_pattern
    rule = f"must match {shown}" if shown else "follow the general rules only"
    typer.echo(f"{program}: mentee codes {rule}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="The partner site")],
    origin: Annotated[
        list[str], typer.Option(help="An origin the key may be used from (repeatable)")
    ],
    rate: Annotated[str, typer.Option(help="Requests allowed: N/second|minute|hour")] = (
        DEFAULT_RATE
    ),
    program: Annotated[
        str | None,
        typer.Option(help="The program whose coordinators manage it (else admins only)"),
    ] = None,
) -> None:
    """Create a publishable partner key; prints it alone on the last line, once."""
    from directory.accounts.keys import create_key, program_named

    with unit() as session:
        owner = program_named(session, program) if program is not None else None
        key, raw = create_key(session, name=name, origins=origin, rate_text=rate, program_id=owner)
    of = f" of {' '.join(program.split())}" if program else ""
    typer.echo(
        f"created key {key.prefix}...{of} for {key.name}: {', '.join(key.origins)}, {key.rate}"
    )
    typer.echo(raw)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key, or the prefix `keys create` printed")],
) -> None:
    """Revoke a partner key at once."""
    from directory.accounts.keys import revoke_key

    with unit() as session:
        revoked = revoke_key(session, key)
    typer.echo(f"revoked key {revoked.prefix}... of {revoked.name}")


@keys_app.command("list")
def keys_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys")] = False,
) -> None:
    """Partner keys: prefix, partner, program, origins, rate, and when made (never the key)."""
    from directory.accounts.keys import all_keys

    with unit() as session:
        found = [k for k in all_keys(session, by=None) if revoked or k.revoked_at is None]
        for key in found:
            program = key.program.name if key.program else "(admins only)"
            made = key.created_at.date().isoformat()
            state = f", REVOKED {key.revoked_at.date().isoformat()}" if key.revoked_at else ""
            typer.echo(
                f"{key.prefix}...  {key.name}  {program}  {', '.join(key.origins)}  {key.rate}"
                f"  made {made}{state}"
            )
    typer.echo(f"{len(found)} key(s)")


@users_app.command("list")
def users_list(
    program: Annotated[str | None, typer.Option(help="Only this program's people")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="Leave out inactive")] = False,
) -> None:
    """Everyone with an account: email, role, program, whether they signed up, live tokens."""
    from directory.accounts import people

    with unit() as session:
        found = people.people(session, program=program, include_inactive=not active_only)
    for person in found:
        state = "active" if person.active else "INACTIVE"
        signed = "signed up" if person.signed_up else "invited"
        where = person.program or "(no program)"
        line = f"{person.email}  {person.role}  {where}  {state}, {signed}"
        typer.echo(line + (f", {person.live_tokens} token(s)" if person.live_tokens else ""))
    typer.echo(f"{len(found)} account(s)")


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument(help="Their email address")]) -> None:
    """Take someone's access away now: sessions end, tokens are revoked, links stop working."""
    from directory.accounts import people

    with unit() as session:
        user = people.deactivate(session, email)
        typer.echo(f"{user.email} deactivated: signed out everywhere, tokens revoked")


@users_app.command("reactivate")
def users_reactivate(email: Annotated[str, typer.Argument(help="Their email address")]) -> None:
    """Give a deactivated person their access back."""
    from directory.accounts import people

    with unit() as session:
        typer.echo(f"{people.reactivate(session, email).email} is active again")


@users_app.command("set-role")
def users_set_role(
    email: Annotated[str, typer.Argument(help="Their email address")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}")],
) -> None:
    """Change someone's role (it applies from their next sign-in)."""
    from directory.accounts import people

    with unit() as session:
        user = people.set_role(session, email, role)
        typer.echo(f"{user.email} is now a {user.role}")


@users_app.command("set-program")
def users_set_program(
    email: Annotated[str, typer.Argument(help="Their email address")],
    program: Annotated[str | None, typer.Argument(help="The program (made when new)")] = None,
    none: Annotated[bool, typer.Option("--none", help="In no program")] = False,
) -> None:
    """Move someone to another program (or, with --none, out of any)."""
    if (program is None) == (not none):
        raise fail("give a program, or --none")
    from directory.accounts import people

    with unit() as session:
        user = people.set_program(session, email, None if none else program)
        typer.echo(f"{user.email} moved to {program or 'no program'}")


@users_app.command("revoke-tokens")
def users_revoke_tokens(email: Annotated[str, typer.Argument(help="Their email address")]) -> None:
    """Revoke every bearer token of someone (their browser sessions are not touched)."""
    from directory.accounts import people

    with unit() as session:
        revoked = people.revoke_tokens(session, email)
        typer.echo(f"{revoked} token(s) of {email} revoked")


@users_app.command("reset-sign-in")
def users_reset_sign_in(email: Annotated[str, typer.Argument(help="Their email address")]) -> None:
    """A forgotten password: signs them out everywhere and prints a fresh one-time sign-in
    link on the last line (they choose a new password)."""
    from directory.accounts import people
    from directory.accounts.invites import link_url

    with unit() as session:
        user, token = people.reset_sign_in(session, email)
        typer.echo(f"{user.email}: signed out everywhere; new sign-in link (once):")
        typer.echo(link_url(settings().base_url, token))

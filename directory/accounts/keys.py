"""Partner keys: create, revoke, and find the live key behind a request's key. Creating and
revoking are audited under the key's program.

A key belongs to a program (or, made by an admin or the command, to none). ``by`` a coordinator
sees, makes and revokes their own program's keys only (another's is not found); an admin, every
key; ``by`` None is the `directory` command, which may do everything."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from urllib.parse import urlsplit

from limits import parse
from sqlalchemy import ColumnElement, insert, or_, select, true
from sqlalchemy.orm import Session, joinedload

from directory.accounts import roles
from directory.accounts.models import AuditEntry, PartnerKey, Program, User
from directory.accounts.service import hash_token
from directory.errors import Forbidden, InvalidInput, NotFound

KEY_PREFIX = "pk_"
DEFAULT_RATE = "120/minute"


# A host as browsers send it in Origin: DNS labels (IDNA-encoded), which also covers
# localhost and IPv4 addresses for development. Nothing else (no IPv6, no <, >, quotes or
# spaces), so an origin is safe wherever it is shown, the embed snippet included.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"^{LABEL}(?:\.{LABEL})*$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(value: str) -> str:
    """A web origin as browsers send it (``https://site.example[:port]``), or InvalidInput."""
    shown = value.strip()[:300]
    bad_port = f"an origin is scheme://host[:port] (a port from 1 to 65535), not {shown!r}"
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:  # "https://[x", a port past 65535 or not a number
        raise InvalidInput(bad_port, field="origin") from None
    if port == 0:
        raise InvalidInput(bad_port, field="origin")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInput(
            f"an origin is scheme://host[:port] with no path, not {shown!r}", field="origin"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(f"an origin has no query, fragment or user: {shown!r}", field="origin")
    host = _host(parts.hostname, shown)
    port_text = f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{port_text}"


def _host(hostname: str, shown: str) -> str:
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:  # an empty or overlong label
        host = ""
    if len(host) > 253 or not HOST.fullmatch(host):
        raise InvalidInput(
            f"an origin's host is a domain name, localhost or an IPv4 address, not {shown!r}",
            field="origin",
        )
    return host


RATE = re.compile(r"^(\d{1,6})\s*/\s*(s|sec|second|m|min|minute|h|hr|hour|d|day)s?$")
UNITS = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "hr": "hour"}


def rate(value: str) -> str:
    """A rate such as ``120/min``, ``10/second`` or ``1000/hour``, as ``limits`` reads it."""
    found = RATE.fullmatch(value.strip().lower())
    if found is None or int(found.group(1)) == 0:
        raise InvalidInput(f"a rate is N/second, N/minute or N/hour, not {value!r}", field="rate")
    unit = UNITS.get(found.group(2), found.group(2))
    text = f"{int(found.group(1))}/{unit}"
    parse(text)  # the form limits reads
    return text


def create_key(
    session: Session,
    *,
    name: str,
    origins: list[str],
    rate_text: str = DEFAULT_RATE,
    program_id: uuid.UUID | None = None,
    by: User | None = None,
) -> tuple[PartnerKey, str]:
    """Create a partner key of a program (a coordinator's: always their own; an admin's or the
    command's: ``program_id``, None for none); the key is returned once and stored hashed."""
    if by is not None:
        roles.require(by, "manage-keys")
        program_id = _program_for(by, program_id)
    if program_id is not None and session.get(Program, program_id) is None:
        raise InvalidInput(f"no program {program_id}", field="program")
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInput(
            "a key needs a name (the partner site), 1 to 200 characters", field="name"
        )
    origins = [o for o in origins if o.strip()]
    if not origins:
        raise InvalidInput("a key needs at least one --origin", field="origin")
    raw = KEY_PREFIX + secrets.token_urlsafe(24)
    key = PartnerKey(
        name=name.strip(),
        key_hash=hash_token(raw),
        prefix=raw[:10],
        origins=sorted({origin(o) for o in origins}),
        rate=rate(rate_text),
        program_id=program_id,
    )
    session.add(key)
    session.flush()
    _audit(session, by, "key.create", key)
    return key, raw


def _program_for(by: User, wanted: uuid.UUID | None) -> uuid.UUID | None:
    """The program a key made by ``by`` belongs to: a coordinator's own, an admin's choice."""
    if roles.can(by, "manage-all-programs"):
        return wanted
    if by.program_id is None:
        raise Forbidden("you are not a member of a program: ask an admin to add you")
    if wanted is not None and wanted != by.program_id:
        raise Forbidden("coordinators manage the partner keys of their own program only")
    return by.program_id


def program_named(session: Session, name: str) -> uuid.UUID:
    """The id of an existing program (a key is never the reason a program is made)."""
    found = session.scalar(select(Program.id).where(Program.name == " ".join(name.split())))
    if found is None:
        raise NotFound(f"no program named {name.strip()[:200]!r}", field="program")
    return found


def revoke_key(session: Session, key_or_prefix: str, *, by: User | None = None) -> PartnerKey:
    """Revoke a key given whole or by its printed prefix (at least 10 characters)."""
    text = key_or_prefix.strip()
    matches = list(
        session.scalars(
            select(PartnerKey).where(
                _visible(by),
                PartnerKey.revoked_at.is_(None),
                or_(PartnerKey.key_hash == hash_token(text), PartnerKey.prefix == text[:10]),
            )
        )
    )
    if len(text) < 10 or len(matches) != 1:
        raise NotFound(f"no single live key matches {text[:10]!r}")
    return _revoke(session, matches[0], by)


def revoke_key_id(session: Session, key_id: uuid.UUID, *, by: User | None = None) -> PartnerKey:
    """Revoke a key by its id (revoking a revoked key again changes nothing)."""
    key = session.scalars(select(PartnerKey).where(PartnerKey.id == key_id, _visible(by))).first()
    if key is None:
        raise NotFound(f"no partner key {key_id}")
    return _revoke(session, key, by) if key.revoked_at is None else key


def _revoke(session: Session, key: PartnerKey, by: User | None) -> PartnerKey:
    key.revoked_at = dt.datetime.now(dt.UTC)
    _audit(session, by, "key.revoke", key)
    session.flush()
    return key


def all_keys(session: Session, *, by: User | None) -> list[PartnerKey]:
    """The keys ``by`` may see (a coordinator: their program's; the command line: all), with
    their program, live ones first, newest first."""
    order = (PartnerKey.revoked_at.is_not(None), PartnerKey.created_at.desc())
    query = select(PartnerKey).options(joinedload(PartnerKey.program)).where(_visible(by))
    return list(session.scalars(query.order_by(*order)))


def _visible(by: User | None) -> ColumnElement[bool]:
    """The keys ``by`` may see and revoke; Forbidden for those who manage no keys."""
    if by is None:
        return true()
    roles.require(by, "manage-keys")
    if roles.can(by, "manage-all-programs"):
        return true()
    if by.program_id is None:
        return PartnerKey.id.is_(None)  # none: a coordinator of no program
    return PartnerKey.program_id == by.program_id


def _audit(session: Session, by: User | None, action: str, key: PartnerKey) -> None:
    """An audit row under the key's program. Not ``audit.record``: it files a row with no
    program under the actor's, and a key of no program is an admin's business only."""
    row = {"actor_id": by.id if by else None, "program_id": key.program_id, "action": action}
    detail = {"key_id": str(key.id), "prefix": key.prefix}
    session.execute(insert(AuditEntry), [{**row, "detail": detail}])


def key_for(session: Session, raw: str) -> PartnerKey | None:
    """The live key behind a raw key, if any."""
    return session.scalars(
        select(PartnerKey).where(
            PartnerKey.key_hash == hash_token(raw.strip()), PartnerKey.revoked_at.is_(None)
        )
    ).one_or_none()


def live_origins(session: Session) -> dict[str, frozenset[str]]:
    """The origins of every live key, by the key's hash (what a preflight may be answered for:
    ``hash_token`` of the ``key=`` it names, else any of them)."""
    rows = session.execute(
        select(PartnerKey.key_hash, PartnerKey.origins).where(PartnerKey.revoked_at.is_(None))
    )
    return {key_hash: frozenset(origins) for key_hash, origins in rows}

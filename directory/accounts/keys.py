"""Partner keys: create, revoke, and find the live key behind a request's key. Creating and
revoking are audited; ``by`` None is the `directory` command."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from urllib.parse import urlsplit

from limits import parse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from directory.accounts import audit, roles
from directory.accounts.models import PartnerKey, User
from directory.accounts.service import hash_token
from directory.errors import InvalidInput, NotFound

KEY_PREFIX = "pk_"
DEFAULT_RATE = "120/minute"


def origin(value: str) -> str:
    """A web origin as browsers send it (``https://site.example[:port]``), or InvalidInput."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInput(
            f"an origin is scheme://host[:port] with no path, not {value!r}", field="origin"
        )
    if parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"an origin has no query, fragment or user: {value!r}", field="origin")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


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
    by: User | None = None,
) -> tuple[PartnerKey, str]:
    """Create a partner key; the key is returned once and stored hashed."""
    if by is not None:
        roles.require(by, "manage-keys")
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
    )
    session.add(key)
    session.flush()
    audit.record(session, by, "key.create", key_id=str(key.id), prefix=key.prefix)
    return key, raw


def revoke_key(session: Session, key_or_prefix: str, *, by: User | None = None) -> PartnerKey:
    """Revoke a key given whole or by its printed prefix (at least 10 characters)."""
    text = key_or_prefix.strip()
    matches = list(
        session.scalars(
            select(PartnerKey).where(
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
    key = session.get(PartnerKey, key_id)
    if key is None:
        raise NotFound(f"no partner key {key_id}")
    return _revoke(session, key, by) if key.revoked_at is None else key


def _revoke(session: Session, key: PartnerKey, by: User | None) -> PartnerKey:
    if by is not None:
        roles.require(by, "manage-keys")
    key.revoked_at = dt.datetime.now(dt.UTC)
    audit.record(session, by, "key.revoke", key_id=str(key.id), prefix=key.prefix)
    session.flush()
    return key


def all_keys(session: Session, *, by: User) -> list[PartnerKey]:
    """Every partner key, live ones first, newest first."""
    roles.require(by, "manage-keys")
    order = (PartnerKey.revoked_at.is_not(None), PartnerKey.created_at.desc())
    return list(session.scalars(select(PartnerKey).order_by(*order)))


def key_for(session: Session, raw: str) -> PartnerKey | None:
    """The live key behind a raw key, if any."""
    return session.scalars(
        select(PartnerKey).where(
            PartnerKey.key_hash == hash_token(raw.strip()), PartnerKey.revoked_at.is_(None)
        )
    ).one_or_none()


def live_origins(session: Session) -> set[str]:
    """Every origin of every live key (what a preflight without a key may be answered for)."""
    rows = session.scalars(select(PartnerKey.origins).where(PartnerKey.revoked_at.is_(None)))
    return {o for origins in rows for o in origins}

"""Partner keys: create, revoke, and find the live key behind a request's key."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit

from limits import parse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from directory.accounts.models import PartnerKey
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
    session: Session, *, name: str, origins: list[str], rate_text: str = DEFAULT_RATE
) -> tuple[PartnerKey, str]:
    """Create a partner key; the key is returned once and stored hashed."""
    if not name.strip():
        raise InvalidInput("a key needs a name (the partner site)", field="name")
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
    return key, raw


def revoke_key(session: Session, key_or_prefix: str) -> PartnerKey:
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
    matches[0].revoked_at = dt.datetime.now(dt.UTC)
    return matches[0]


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

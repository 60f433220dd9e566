"""Browser sessions: server-side rows behind an opaque cookie, ended after idle time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from directory.accounts.models import SignInLink, User, WebSession

# A session seen within this time is not written again (one UPDATE a minute, not per page).
TOUCH_EVERY = dt.timedelta(minutes=1)
MAX_AGE = dt.timedelta(hours=12)  # even an active session ends: shared devices


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User) -> str:
    """A new session for the user; returns the cookie's value (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(token), user_id=user.id))
    session.flush()
    return token


def resume(session: Session, token: str, *, idle: dt.timedelta) -> User | None:
    """The active user of a live session, touching it; None (and the row gone) when it is
    unknown, idle too long or too old."""
    found = session.execute(_BY_TOKEN, {"token_hash": _hash(token)}).one_or_none()
    if found is None:
        return None
    user, row = found
    now = dt.datetime.now(dt.UTC)
    if now - row.last_seen_at > idle or now - row.created_at > MAX_AGE:
        return None  # its row goes with the next purge (this request may roll back)
    if now - row.last_seen_at > TOUCH_EVERY:
        session.execute(
            update(WebSession).where(WebSession.token_hash == row.token_hash),
            {"last_seen_at": now},
        )
    return user


_BY_TOKEN = (
    select(User, WebSession)
    .join(WebSession, WebSession.user_id == User.id)
    .where(WebSession.token_hash == bindparam("token_hash"), User.active)
)


def purge(session: Session, *, idle: dt.timedelta) -> None:
    """Delete the sessions that can no longer be resumed, and the sign-in links that can no
    longer be used (used, or expired, a day ago)."""
    now = dt.datetime.now(dt.UTC)
    session.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at < now - idle) | (WebSession.created_at < now - MAX_AGE)
        )
    )
    day = now - dt.timedelta(days=1)
    session.execute(
        delete(SignInLink).where((SignInLink.used_at < day) | (SignInLink.expires_at < day))
    )


def end(session: Session, token: str) -> None:
    """Sign this session out."""
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_all(session: Session, user: User) -> int:
    """Sign the user out everywhere: every browser session ends. How many there were."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def csrf_token(secret: str, session_key: str) -> str:
    """The form token tied to a session (or an anonymous visitor's cookie): an HMAC, so the
    server keeps nothing and another site cannot compute it."""
    return hmac.new(secret.encode(), b"csrf:" + session_key.encode(), "sha256").hexdigest()


def csrf_valid(secret: str, session_key: str, given: str | None) -> bool:
    """Whether a form's token belongs to this session."""
    return given is not None and hmac.compare_digest(csrf_token(secret, session_key), given)

"""Passwords: argon2id hashes, the rules a new password must meet, and sign-in throttling."""

from __future__ import annotations

import datetime as dt
import hmac
import math

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from directory.accounts.models import SignInFailure, User
from directory.errors import InvalidInput, TooManyRequests

MIN_LENGTH = 10
MAX_LENGTH = 200
# Failures counted over this window. The strictest limit is on one account from one address;
# one account from anywhere, and one address over any accounts, get looser ones, so that
# nobody locks a colleague out cheaply (behind a proxy every visitor may share one address:
# see DIRECTORY_FORWARDED_ALLOW_IPS).
WINDOW = dt.timedelta(minutes=15)
PER_PAIR = 5
PER_ACCOUNT = 20
PER_ADDRESS = 50

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
# Verified when an email is unknown, so that a miss takes as long as a wrong password.
_DUMMY = _hasher.hash("not a real password, only for timing")


def check_new(password: str, *, email: str) -> str:
    """The password, when it may be used (length, not the email); else InvalidInput."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"at most {MAX_LENGTH} characters", field="password")
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("not your email address", field="password")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def authenticate(
    session: Session, email: str, password: str, *, address: str, secret: str
) -> User | None:
    """The active user with this email and password, or None (the failure is counted).
    TooManyRequests when the account or the address failed too often lately.

    Failures are kept as keyed hashes of what was typed (a password typed into the email box
    is never stored) and of the address. Attempts on one account wait for each other, so
    parallel guesses cannot all slip under the limit."""
    typed = email.strip().lower()[:320]
    account, source = _keyed(secret, "account", typed), _keyed(secret, "address", address)
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(account, 0))))
    _throttle(session, account, source)
    user = session.scalars(select(User).where(User.email == typed, User.active)).one_or_none()
    if user is None or user.password_hash is None:
        _verify(_DUMMY, password)
        user = None
    elif not _verify(user.password_hash, password):
        user = None
    if user is None:
        session.execute(insert(SignInFailure).values(account=account, address=source))
        return None
    session.execute(delete(SignInFailure).where(SignInFailure.account == account))
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def _keyed(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), "sha256").hexdigest()


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _throttle(session: Session, account: str, address: str) -> None:
    now = dt.datetime.now(dt.UTC)
    recent = SignInFailure.at > now - WINDOW
    pair = (SignInFailure.account == account) & (SignInFailure.address == address)
    for matches, limit in (
        (pair, PER_PAIR),
        (SignInFailure.account == account, PER_ACCOUNT),
        (SignInFailure.address == address, PER_ADDRESS),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(matches, recent)
        ).one()
        if count >= limit:
            seconds = max(60, math.ceil((oldest + WINDOW - now).total_seconds()))
            raise TooManyRequests(
                "too many failed sign-ins: try again in a few minutes", retry_after=seconds
            )


def forget_old_failures(session: Session) -> None:
    """Drop the failures the throttle no longer counts."""
    cutoff = dt.datetime.now(dt.UTC) - WINDOW
    session.execute(delete(SignInFailure).where(SignInFailure.at < cutoff))

"""Free text of referrals (notes, reasons) encrypted at rest, with key rotation.

Keys are Fernet keys (AES-128-CBC with HMAC-SHA256, from ``cryptography``) in
``DIRECTORY_NOTE_KEYS``, newest first: text is encrypted with the first and read with any, so a
new key goes first and ``directory referrals rotate-keys`` re-encrypts the stored text with it
before the old key is removed. Without the setting (development and tests), one key is derived
from ``DIRECTORY_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from directory.errors import Unavailable
from directory.referrals.models import Referral, ReferralEvent

REFERRAL: Table = Referral.__table__  # type: ignore[assignment]
REFERRAL_EVENT: Table = ReferralEvent.__table__  # type: ignore[assignment]


class NoteCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one note key is needed")
        self.fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, text: str) -> bytes:
        """The ciphertext of a text, with the newest key."""
        return self.fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        """The text of a ciphertext made with any of the keys."""
        try:
            return self.fernet.decrypt(token).decode()
        except InvalidToken:
            raise Unavailable(
                "a note was encrypted with a key that is no longer configured"
            ) from None

    def rotate(self, token: bytes) -> bytes:
        """The same text under the newest key."""
        try:
            return self.fernet.rotate(token)
        except InvalidToken:
            raise Unavailable(
                "a stored text is under a key that is not in DIRECTORY_NOTE_KEYS: add it back"
            ) from None


def derived_key(secret: str) -> str:
    """A Fernet key derived from the secret key (when no note keys are configured)."""
    digest = hashlib.sha256(b"directory-note-key:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


# What development installs signed and encrypted with before each install had its own secret:
# its key still reads their old notes (never writes); `directory referrals rotate-keys` moves
# them to the install's key.
LEGACY_SECRET = "development-only-secret-change-me"


@lru_cache(maxsize=8)
def cipher_for(note_keys: str | None, secret_key: str, *, legacy: bool = False) -> NoteCipher:
    """The cipher for the settings: the listed keys, else one derived from the secret key (and,
    with ``legacy``, outside production, the old development key for reading)."""
    keys = [k.strip() for k in (note_keys or "").split(",") if k.strip()]
    if keys:
        return NoteCipher(keys)
    old = [derived_key(LEGACY_SECRET)] if legacy and secret_key != LEGACY_SECRET else []
    return NoteCipher([derived_key(secret_key), *old])


def seal_consent(consent: dict[str, Any], cipher: NoteCipher) -> dict[str, Any]:
    """The consent with its wording (what the mentee agreed to, free text) encrypted."""
    scope = consent.get("scope")
    return {**consent, "scope": cipher.seal(scope).decode()} if scope else consent


def open_consent(consent: dict[str, Any], cipher: NoteCipher) -> dict[str, Any]:
    """The consent with its wording readable."""
    scope = consent.get("scope")
    return {**consent, "scope": cipher.open(scope.encode())} if scope else consent


def rotate_all(session: Session, cipher: NoteCipher) -> int:
    """Re-encrypt every stored note and event text under the newest key; how many."""
    count = 0
    for table, column in ((REFERRAL, "note"), (REFERRAL_EVENT, "text")):
        stored, ids = table.c[column], table.c["id"]
        for row_id, token in session.execute(select(ids, stored).where(stored.is_not(None))):
            session.execute(
                update(table).where(ids == row_id).values({column: cipher.rotate(token)})
            )
            count += 1
    for row_id, consent in session.execute(select(REFERRAL.c.id, REFERRAL.c.consent)):
        if consent.get("scope"):
            scope = cipher.rotate(consent["scope"].encode()).decode()
            session.execute(
                update(REFERRAL)
                .where(REFERRAL.c.id == row_id)
                .values(consent={**consent, "scope": scope})
            )
            count += 1
    return count

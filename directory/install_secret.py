"""The secret key: the configured one, else (outside production) one made for this install.

A development install used to sign and encrypt with a constant written in the source, so a dump
of it decrypted anywhere. Now, when ``DIRECTORY_SECRET_KEY`` is unset, a random secret is made
once and kept in ``<data_dir>/secret_key`` (mode 0600, its folder 0700); every process of the
install reads the same file. Production requires a configured secret that is long and varied.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "secret_key"
MIN_LENGTH = 32
MIN_DISTINCT = 10  # characters: "k" * 40 is long, and a guess
WEAK = ("development-only-secret-change-me", "changeme", "change-me", "secret", "password")


def install_secret(data_dir: Path) -> str:
    """This install's secret, made on first use (two processes starting at once agree)."""
    path = data_dir / SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(made + "\n")
    return made


def _read(path: Path) -> str:
    text = path.read_text().strip()
    if len(text) < MIN_LENGTH:
        raise ValueError(f"{path} holds no usable secret: delete it to make a new one")
    return text


def weakness(secret: str) -> str | None:
    """Why a configured secret is too weak for production (None: it is not)."""
    if secret.strip().lower() in WEAK:
        return "is a placeholder"
    if len(secret) < MIN_LENGTH:
        return f"has fewer than {MIN_LENGTH} characters"
    if len(set(secret)) < MIN_DISTINCT:
        return f"uses fewer than {MIN_DISTINCT} different characters"
    return None

"""Each install signs and encrypts with its own secret: made once (0600) when none is set,
required and strong in production; old development notes stay readable; unsafe settings are
named at start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from directory.config import Settings
from directory.errors import Unavailable
from directory.referrals.notes import LEGACY_SECRET, NoteCipher, cipher_for, derived_key

STRONG = "Zq7-pW3x_Lm9Rt2Vb8Nc4Yh6Kd1Sf5Gj0"


def test_an_install_without_a_secret_gets_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIRECTORY_SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path / "one")
    assert len(first.secret_key) >= 32 and first.secret_key != LEGACY_SECRET
    assert Settings(data_dir=tmp_path / "one").secret_key == first.secret_key  # kept
    assert Settings(data_dir=tmp_path / "two").secret_key != first.secret_key  # its own
    kept = tmp_path / "one" / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "one").stat().st_mode) == 0o700
    assert Settings(data_dir=tmp_path / "one", secret_key=STRONG).secret_key == STRONG


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("", "must be set"),
        ("x", "placeholder|fewer than 32"),
        (LEGACY_SECRET, "placeholder"),
        ("k" * 40, "different characters"),
        ("short-but-varied-9", "fewer than 32"),
    ],
)
def test_production_requires_a_strong_secret(secret: str, why: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=why):
        Settings(env="production", secret_key=secret, database_url="postgresql://x@y/z")
    assert not (tmp_path / "secret_key").exists()
    good = Settings(env="production", secret_key=STRONG, database_url="postgresql://x@y/z")
    assert good.secret_key == STRONG


def test_notes_written_with_the_old_development_key_stay_readable(tmp_path: Path) -> None:
    old = NoteCipher([derived_key(LEGACY_SECRET)]).seal("Prefers evening calls.")
    mine = Settings(data_dir=tmp_path).secret_key
    reading = cipher_for(None, mine, legacy=True)
    assert reading.open(old) == "Prefers evening calls."
    assert NoteCipher([derived_key(mine)]).open(reading.seal("new")) == "new"  # written anew
    with pytest.raises(Unavailable):  # production never reads with the old key
        cipher_for(None, mine, legacy=False).open(old)


def test_unsafe_settings_are_named() -> None:
    calm = Settings(env="production", secret_key=STRONG, database_url="postgresql://x@y/z",
                    base_url="https://dir.example.org", note_keys="k")  # fmt: skip
    assert calm.dangers() == []
    loud = Settings(access_log=True, forwarded_allow_ips="*", workers=2)
    assert [d.split(" ")[0] for d in loud.dangers()] == [
        "DIRECTORY_ACCESS_LOG",
        "DIRECTORY_FORWARDED_ALLOW_IPS",
        "DIRECTORY_RATE_LIMIT_STORAGE",
    ]

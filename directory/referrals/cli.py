"""``directory referrals``: the retention purge and the rotation of the notes' key."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from directory.cli_support import fail, settings, unit

referrals_app = typer.Typer(
    help="Referrals: retention purge, note key rotation.", no_args_is_help=True
)


@referrals_app.command("rotate-keys")
def referrals_rotate_keys() -> None:
    """Re-encrypt every referral note and event text with the first of DIRECTORY_NOTE_KEYS."""
    from directory.referrals.notes import cipher_for, rotate_all

    configured = settings()
    legacy = configured.env != "production"
    with unit() as session:
        cipher = cipher_for(configured.note_keys, configured.secret_key, legacy=legacy)
        count = rotate_all(session, cipher)
    typer.echo(f"re-encrypted {count} text(s) with the newest key; older keys can now be removed")


@referrals_app.command("purge")
def referrals_purge(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Retention, in days: 365d")
    ] = "365d",
) -> None:
    """Strip the free text of referrals closed longer ago than the retention (figures stay)."""
    text = older_than.strip().lower()
    if not text.endswith("d") or not text[:-1].isdigit() or not 1 <= int(text[:-1]) <= 36_500:
        raise fail(f"--older-than takes a number of days such as 365d, not {older_than!r}")
    from directory.referrals.privacy import purge

    with unit() as session:
        count = purge(session, older_than=dt.timedelta(days=int(text[:-1])))
    typer.echo(f"purged the free text of {count} closed referral(s) older than {text}")

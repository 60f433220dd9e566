"""Settings, read once from the environment (prefix ``DIRECTORY_``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from directory.install_secret import install_secret, weakness

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Package data (found the same way in a checkout and in an installed wheel).
PACKAGE_DIR = Path(str(files("directory")))
DEFAULT_SEED_DIR = PACKAGE_DIR / "seed_data"


def default_data_dir() -> Path:
    """``.directory/`` in a source checkout; the user's data folder for an installed package."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / ".directory"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "directory"


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a connection may take to open, and the server's limits on each session, in
    seconds (0: none)."""

    connect: float
    statement: float
    lock: float
    idle_in_transaction: float


class Settings(BaseSettings):
    """Every setting of the directory; see the README for what each one does."""

    model_config = SettingsConfigDict(env_prefix="DIRECTORY_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="postgresql://user@host:port/db; unset = the private cluster under data_dir.",
    )
    database_password: str | None = Field(
        default=None,
        description="the password for database_url, kept out of the URL so any character works",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="postgresql://user@host:port/db of a streaming read replica: searches and"
        " published reads go there (the primary when it is down); unset: every read on the"
        " primary. database_password is its password too",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    private_db_port: int = 54329
    pg_bindir: Path | None = Field(
        default=None, description="initdb/pg_ctl folder; unset = newest /usr/lib/postgresql/*/bin"
    )
    search_backend: Literal["postgres", "meilisearch"] = "postgres"
    default_country: str = Field(
        default="US", description="whose crisis lines show when a searcher's country is unknown"
    )
    rate_limit_storage: str = Field(
        default="memory://", description="where partner-key rates are counted (limits storage)"
    )
    shared_store: str | None = Field(
        default=None,
        description="redis://host:port/db shared by every process and host: rate counts (in"
        " place of rate_limit_storage) and the crisis lines kept for when the database is away;"
        " unset: each process keeps its own",
    )
    workers: int = Field(default=1, ge=1, le=32, description="API processes of `serve`")
    access_log: bool = Field(
        default=False,
        description="log one line per request (method, route template, status, time, request"
        " id; never the path's ids or the query string)",
    )
    log_format: Literal["json", "text"] = Field(
        default_factory=lambda data: "json" if data.get("env") == "production" else "text",
        description="log lines as JSON objects (for a collector) or as text (for a person);"
        " unset: json in production, text elsewhere",
    )
    metrics_token: str | None = Field(
        default=None,
        description="the bearer token a Prometheus scrape of /metrics must send;"
        " unset: /metrics is a 404",
    )
    hsds_access: Literal["open", "key", "off"] = Field(
        default="open",
        description="the HSDS 3.0 API under /hsds/: open (published data is public: any origin,"
        " a rate per client address), key (a partner key or a sign-in, from the key's origins),"
        " off (404)",
    )
    index_sync_interval: float = Field(
        default=1.0, ge=0, description="seconds between outbox drains in `serve`; 0 = off"
    )
    meili_url: str = "http://127.0.0.1:7700"
    meili_key: str | None = None
    meili_index: str = Field(default="services", description="the Meilisearch index name")
    secret_key: str = Field(
        default="",
        description="signs sessions and form tokens, derives the note key when NOTE_KEYS is unset;"
        " unset outside production: made once for this install (<data_dir>/secret_key)",
    )
    note_keys: str | None = Field(
        default=None,
        description="Fernet keys for referral notes, newest first, comma-separated;"
        " unset: one derived from SECRET_KEY",
    )
    seed_dir: Path = Field(
        default=DEFAULT_SEED_DIR, description="seed files: taxonomy, vocabularies, crisis lines"
    )
    datasets_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where people reach the app: sign-in links are built on it",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="proxies whose X-Forwarded-For is believed (the client's address counts"
        " sign-in failures); comma-separated addresses, or * behind a trusted proxy only",
    )
    time_zone: str = Field(
        default="America/New_York",
        description="the program's time zone: dates mentors pick and times pages show",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a browser session ends after this idle time"
    )
    stale_after_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="a listing not verified for longer than this is marked stale on its pages",
    )
    token_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="bearer tokens expire this many days after they are made (0: never)",
    )
    max_body_bytes: int = Field(
        default=1024**2,
        ge=1024,
        description="the largest request body the API and pages accept (413 beyond; the"
        " console's import upload has import_max_bytes)",
    )
    db_connect_timeout: float = Field(
        default=5, ge=1, le=600, description="seconds to open a database connection (2 at least)"
    )
    db_pool_timeout: float = Field(
        default=5,
        gt=0,
        le=600,
        description="seconds an API request waits for a pooled connection before a 503",
    )
    # Short, so that a frozen database costs a request seconds (db.BoundedConnection waits
    # this and 2 s more). The console's imports run on an engine of their own with the
    # command line's timeouts (api.app.import_engine).
    api_statement_timeout: float = Field(
        default=15, ge=0, le=24 * 3600, description="seconds an API statement may run; 0 = no limit"
    )
    api_lock_timeout: float = Field(
        default=10, ge=0, le=24 * 3600, description="seconds an API statement waits for a lock"
    )
    api_idle_in_transaction_timeout: float = Field(
        default=60, ge=0, le=24 * 3600, description="seconds an API transaction may sit idle"
    )
    cli_statement_timeout: float = Field(
        default=0,
        ge=0,
        le=24 * 3600,
        description="seconds a command's statement may run; 0 = no limit (imports run long)",
    )
    cli_lock_timeout: float = Field(
        default=60, ge=0, le=24 * 3600, description="seconds a command's statement waits for a lock"
    )
    cli_idle_in_transaction_timeout: float = Field(
        default=1800, ge=0, le=24 * 3600, description="seconds a command's transaction may sit idle"
    )
    import_max_bytes: int = Field(
        default=50 * 1024**2,
        ge=1,
        description="the largest file the console accepts for an import (the CLI has no limit)",
    )

    @property
    def api_timeouts(self) -> DatabaseTimeouts:
        """The database timeouts of the API's connections."""
        return DatabaseTimeouts(
            self.db_connect_timeout,
            self.api_statement_timeout,
            self.api_lock_timeout,
            self.api_idle_in_transaction_timeout,
        )

    @property
    def cli_timeouts(self) -> DatabaseTimeouts:
        """The database timeouts of the command line's connections (imports, migrations)."""
        return DatabaseTimeouts(
            self.db_connect_timeout,
            self.cli_statement_timeout,
            self.cli_lock_timeout,
            self.cli_idle_in_transaction_timeout,
        )

    @property
    def imports_dir(self) -> Path:
        """Where files uploaded for an import are kept until the import ends."""
        return self.data_dir / "imports"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not an IANA time zone: {value!r}") from None
        return value

    @field_validator("shared_store")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a redis://, rediss:// or unix:// URL (or unset)")
        return value or None

    @field_validator("metrics_token", "database_replica_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None  # DIRECTORY_METRICS_TOKEN= (empty) keeps /metrics closed

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        """Production: a strong configured secret and a database URL. Elsewhere an unset secret
        is this install's own (never a constant from the source)."""
        if self.env == "production":
            if not self.secret_key:
                raise ValueError("DIRECTORY_SECRET_KEY must be set in production")
            if (weak := weakness(self.secret_key)) is not None:
                raise ValueError(f"DIRECTORY_SECRET_KEY {weak}: use a long random one")
            if self.database_url is None:
                raise ValueError("DIRECTORY_DATABASE_URL must be set in production")
        elif not self.secret_key:
            self.secret_key = install_secret(self.data_dir)
        return self

    def dangers(self) -> list[str]:
        """Settings that are unsafe where they are on (said at start)."""
        found = []
        if self.access_log:
            found.append(
                "DIRECTORY_ACCESS_LOG is on: when each route is called is kept (as templates:"
                " no ids, no query strings)"
            )
        if self.metrics_token and (weak := weakness(self.metrics_token)) is not None:
            found.append(f"DIRECTORY_METRICS_TOKEN {weak}: anyone who guesses it reads /metrics")
        if self.forwarded_allow_ips.strip() == "*":
            found.append("DIRECTORY_FORWARDED_ALLOW_IPS is *: any client can claim any address")
        if self.env == "production" and self.base_url.startswith("http://"):
            found.append(
                "DIRECTORY_BASE_URL is http:// in production: sign-in links travel unencrypted"
            )
        if self.env == "production" and not self.note_keys:
            found.append(
                "DIRECTORY_NOTE_KEYS is unset: notes are encrypted with a key derived from"
                " the secret key"
            )
        if (
            self.workers > 1
            and self.shared_store is None
            and self.rate_limit_storage.startswith("memory://")
        ):
            found.append(
                "DIRECTORY_RATE_LIMIT_STORAGE is memory:// with several workers: each counts apart"
            )
        return found


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read from the environment once)."""
    return Settings()

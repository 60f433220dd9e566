"""Imports started from the console: the uploaded file, its dry run, the import, the reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from directory.db import Base, IdMixin

# checking: the dry run reads the file (in the background); checked: it is done and waits for
# a decision; refused: nothing in the file loads; discarded: dropped by a coordinator; expired:
# left checked over a day, its file deleted; running: confirmed, importing in the background;
# done / failed: the import's end.
RunStatus = Literal[
    "checking", "checked", "refused", "discarded", "expired", "running", "done", "failed"
]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)


class ImportRun(IdMixin, Base):
    """One uploaded file: what its dry run found, and what its import did."""

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RUN_STATUSES)})", name="status"),
    )

    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # No foreign key to the user: the record of an import outlives the account.
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    program_id: Mapped[uuid.UUID | None] = mapped_column()
    file_name: Mapped[str] = mapped_column(Text)  # as stored: made safe, never a path
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # The reports: the figures, rejected rows, merges, what was ignored, and the CLI's text.
    check_report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    import_report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    records: Mapped[int] = mapped_column(Integer, default=0)  # read by the dry run
    progress: Mapped[int] = mapped_column(Integer, default=0)  # read so far (dry run, import)
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

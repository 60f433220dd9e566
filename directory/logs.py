"""Log lines as JSON (for a collector) or text (for a person), with the request's id.

structlog renders the standard library's records, so every ``logging.getLogger(__name__)``
line, uvicorn's own included, comes out in the one format, and each carries what is bound in
structlog's context variables (the request id; see ``directory.api.requestlog``).

Tracebacks are plain: structlog's console renderer shows each frame's local variables when
``rich`` is installed (it is, as a dependency of typer), and locals hold search words, mentee
codes and notes. Nothing here logs a request's path or query string.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor

LogFormat = Literal["json", "text"]


class _Handler(logging.StreamHandler[TextIO]):
    """Our handler on the root logger, told apart from others (pytest's caplog) when replaced."""


def configure(log_format: LogFormat, *, stream: TextIO | None = None) -> None:
    """Render every log line of this process in ``log_format`` on ``stream`` (stderr).

    Called once per process by ``directory serve`` (and in each of its workers). Calling again
    replaces our handler and leaves any other on the root logger alone."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_color_message],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_rendering(log_format),
            ],
        )
    )
    _remove_ours()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Each health probe reads the migration through Alembic, which says two lines at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _drop_color_message(_: object, __: str, event: EventDict) -> EventDict:
    """uvicorn's records carry their message again with terminal colours, as an extra."""
    event.pop("color_message", None)
    return event


def _rendering(log_format: LogFormat) -> list[Processor]:
    if log_format == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    plain = structlog.dev.plain_traceback
    return [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain)]


def unconfigure() -> None:
    """Take our handler off the root logger and structlog back to its defaults (for tests)."""
    _remove_ours()
    structlog.reset_defaults()


def _remove_ours() -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()

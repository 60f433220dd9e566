"""The error vocabulary: each error carries its HTTP status; one handler renders them all."""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every error the directory reports to a caller."""

    status_code = 500

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    @property
    def code(self) -> str:
        return type(self).__name__


class BadRequest(DirectoryError):
    """The request itself is malformed (a header that cannot be read)."""

    status_code = 400


class InvalidInput(DirectoryError):
    """The input is well-formed but wrong (an unknown code, an impossible value)."""

    status_code = 422


class NotFound(DirectoryError):
    status_code = 404


class Conflict(DirectoryError):
    status_code = 409


class PreconditionFailed(DirectoryError):
    """The caller's ``If-Match`` version is stale."""

    status_code = 412


class PreconditionRequired(DirectoryError):
    """A write that can race was sent without ``If-Match``."""

    status_code = 428


class Unauthorized(DirectoryError):
    status_code = 401


class Forbidden(DirectoryError):
    status_code = 403


class Unavailable(DirectoryError):
    status_code = 503


class TooManyRequests(DirectoryError):
    """A partner key went over its rate; ``retry_after`` seconds until it may try again."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

"""Domain errors. One error handler maps them to 400/403/404/409 pages (or JSON)."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    """The input breaks a rule; `field_errors` names the fields."""

    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    """Also used for other organizations' objects, so their existence does not leak."""

    status = 404


class Conflict(DomainError):
    """The request does not fit the current state (a phase transition not allowed, a deadline passed)."""

    status = 409

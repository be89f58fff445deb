"""The server clock. Every deadline check asks this module, so tests can freeze time."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, time-zone aware, in UTC, to the second (deadlines are to the second)."""
    current = _frozen if _frozen is not None else datetime.now(UTC)
    return current.replace(microsecond=0)


def freeze(at: datetime | None) -> None:
    """Tests only: make now() return `at` (aware) until freeze(None)."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze needs an aware datetime")
    _frozen = at


def parse(text: str) -> datetime:
    """An ISO instant written by this app back to an aware datetime."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""Errors the solver reports about its input.

Invalid input is never a crash: every problem is collected with the JSON path of the
field it concerns, so the command line can print one line per problem and the web app
can show them next to the round.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str  # JSON path like "demand[3].window.earliest"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidInput(ValueError):
    """The input document breaks the contract; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Cancelled(Exception):
    """Raise it from a progress callback to stop a solve: the solve stops and re-raises it."""

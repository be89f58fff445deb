"""The marketplace's optimization core: pooling demand lines into lots, and awarding lots to bids.

A pure library with plain data in and out (the JSON documents of the solver contract),
so any round can be exported, solved and re-solved outside the web app. OR-Tools is
imported inside the solve functions: importing this package stays cheap.

`pool` and `award` are imported eagerly from their halves: a lazy wrapper named `award`
would be replaced by the subpackage `solver.award` as soon as that is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from solver.award import award, validate_award
from solver.errors import Cancelled, InvalidInput, Problem
from solver.pooling import pool, validate_pooling
from solver.progress import Progress, ProgressCallback

__all__ = [
    "Cancelled",
    "InvalidInput",
    "Problem",
    "Progress",
    "ProgressCallback",
    "award",
    "pool",
    "validate",
    "validate_award",
    "validate_pooling",
]


def validate(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    """Validate a pooling or an award result, whichever the result is."""
    if "awards" in result:
        return validate_award(doc, result)
    return validate_pooling(doc, result)

"""The marketplace's optimization core: pooling demand lines into lots, and awarding lots to bids.

A pure library with plain data in and out (the JSON documents of the solver contract),
so any round can be exported, solved and re-solved outside the web app. OR-Tools is
imported inside the solve functions: importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from solver.errors import Cancelled, InvalidInput, Problem
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


def pool(doc: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """Pool demand lines into tender lots (contract section 1). See solver.pooling.pool."""
    from solver.pooling import pool as _pool

    return _pool(doc, **options)


def validate_pooling(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    """Every rule a pooling result breaks, checked independently of the model; [] if valid."""
    from solver.pooling import validate_pooling as _validate

    return _validate(doc, result)


def award(doc: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """Choose the award from bids and packages (contract section 2). See solver.award.award."""
    from solver.award import award as _award

    return _award(doc, **options)


def validate_award(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    """Every rule an award result breaks, checked independently of the model; [] if valid."""
    from solver.award import validate_award as _validate

    return _validate(doc, result)


def validate(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    """Validate a pooling or an award result, whichever the result is."""
    if "awards" in result:
        return validate_award(doc, result)
    return validate_pooling(doc, result)

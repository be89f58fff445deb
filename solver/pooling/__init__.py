"""Pooling demand lines into tender lots (contract section 1 of docs/solver-io.md).

Modules: types (typed documents), parse (input checks with JSON paths), components
(classes, candidate lot keys, independent components), greedy (constructive start),
packing (a slot's members into lots), exact (CP-SAT lexicographic phases), reasons
(why a line stays unpooled), assemble (lots and the canonical tie-break), validate
(independent re-check of a result), solve (the `pool` call).
"""

from __future__ import annotations

from solver.pooling.solve import default_work_limit, pool
from solver.pooling.validate import validate_pooling

__all__ = ["default_work_limit", "pool", "validate_pooling"]

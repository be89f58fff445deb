"""Property tests (hypothesis): every result is valid, bounds hold, input order does not matter,
and the fast structural check agrees with the JSON Schema."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import io, schema
from solver.pooling.parse import structurally_ok
from tests.solver.test_pooling_support import small_instance, solve_checked, triple

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(8, 40))
def test_results_are_valid_and_independent_of_input_order(seed: int, items: int) -> None:
    rng = random.Random(seed)
    doc = small_instance(rng, max_items=items)
    for ln in doc["demand"]:  # larger lines too
        ln["quantity"] *= rng.choice((1, 1, 3))
    a = solve_checked(doc)
    st_ = a["stats"]
    assert st_["pooled_quantity"] <= st_["bound"] <= st_["total_quantity"]
    assert st_["lots_bound"] <= st_["lots"] and st_["spread_bound"] <= st_["spread"]
    assert a["status"] == "OPTIMAL"
    shuffled = copy.deepcopy(doc)
    rng.shuffle(shuffled["demand"])
    rng.shuffle(shuffled["regions"])
    b = solve_checked(shuffled)
    assert triple(a) == triple(b)
    a["stats"]["solve_seconds"] = b["stats"]["solve_seconds"] = 0
    assert io.dumps(a) == io.dumps(b)


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 500), st.floats(-1, 1e6, allow_nan=False),
    st.sampled_from(["", "x", "2027Q3", "2027Q9", "W", "A1", "CCS1"]),
    st.lists(st.sampled_from(["X", "Y", ""]), max_size=3), st.just({}), st.just(KeyError),
)  # fmt: skip
PATHS = [
    ("rules", "min_lot_quantity"), ("rules", "max_levels_up"), ("rules", "extra"), ("regions", 1, "parent"),
    ("regions", 0, "code"), ("regions", 2, "name"), ("demand", 0, "quantity"), ("demand", 1, "window", "earliest"),
    ("demand", 0, "requirements", "charging"), ("demand", 1, "requirements", "min_range_km"),
    ("demand", 0, "splittable"), ("demand", 1, "max_unit_price"), ("demand", 0, "fleet"), ("demand", 1, "id"),
    ("demand", 0), ("regions", 0), ("demand",), ("rules",),
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_fast_structural_check_agrees_with_the_schema(edits: list[tuple[tuple[Any, ...], Any]]) -> None:
    doc: Any = small_instance(random.Random(5))
    for path, value in edits:
        obj = doc
        try:
            for k in path[:-1]:
                obj = obj[k]
            if value is KeyError:
                obj.pop(path[-1], None) if isinstance(obj, dict) else None
            elif isinstance(obj, dict) or (isinstance(obj, list) and path[-1] < len(obj)):
                obj[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    assert structurally_ok(doc) == (schema.check(doc, "pooling-input") == [])

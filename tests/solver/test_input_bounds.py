"""Solver input bounds (issue 14 item 5): every quantity and price is bounded so memory stays
bounded, NaN and Infinity are refused, and unreadable JSON is exit 2 with where, never a traceback."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from solver import InvalidInput, award, io, pool, schema
from tests.solver.award_helpers import contract_example
from tests.solver.test_pooling import BASE

ROOT = Path(__file__).resolve().parents[2]


def run_cli(tmp_path: Path, command: str, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "in.json"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "solver", command, str(path), "--time-limit", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _set(doc: Any, path: list[Any], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def test_schema_files_state_the_bounds_the_parsers_use() -> None:
    award_defs = schema.schema("award-input")["$defs"]
    assert award_defs["quantity"]["maximum"] == schema.MAX_QUANTITY
    assert award_defs["price"]["maximum"] == schema.MAX_PRICE
    sup = schema.schema("award-input")["properties"]["suppliers"]["items"]["properties"]
    assert sup["capacity"]["maximum"] == schema.MAX_CAPACITY
    pool_defs = schema.schema("pooling-input")["$defs"]
    assert pool_defs["positive_integer"]["maximum"] == schema.MAX_QUANTITY
    assert pool_defs["non_negative_number"]["maximum"] == schema.MAX_PRICE


HUGE = 10**15
AWARD_TOO_BIG = [
    (["lots", 0, "demand", 0, "quantity"], HUGE, "lots[0].demand[0].quantity"),
    (["bids", 0, "max_quantity"], HUGE, "bids[0].max_quantity"),
    (["suppliers", 0, "capacity"], HUGE, "suppliers[0].capacity"),
    (["packages", 0, "items", 0, "quantity"], HUGE, "packages[0].items[0].quantity"),
    (["bids", 0, "tiers", 0, "unit_price"], HUGE, "bids[0].tiers[0].unit_price"),
    (["lots", 0, "demand", 0, "max_unit_price"], float("nan"), "lots[0].demand[0].max_unit_price"),
    (["lots", 0, "demand", 0, "max_unit_price"], float("inf"), "lots[0].demand[0].max_unit_price"),
    (["rules", "max_share_per_supplier"], float("nan"), "rules.max_share_per_supplier"),
    (["packages", 0, "items", 0, "unit_price"], Decimal("NaN"), "packages[0].items[0].unit_price"),
]


@pytest.mark.parametrize(("path", "value", "where"), AWARD_TOO_BIG, ids=[c[2] for c in AWARD_TOO_BIG])
def test_award_refuses_unbounded_and_non_finite_numbers_naming_the_field(
    path: list[Any], value: Any, where: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        award(_set(contract_example(), path, value), time_limit=5)
    assert any(p.path == where for p in exc.value.problems), exc.value.problems


POOL_BAD = [
    ("demand", 0, "max_unit_price", float("nan")),
    ("demand", 0, "max_unit_price", float("-inf")),
    ("demand", 1, "quantity", HUGE),
    ("demand", 1, "requirements", "min_range_km", float("inf")),
]


@pytest.mark.parametrize("case", POOL_BAD, ids=lambda c: ".".join(map(str, c[:-1])))
def test_pooling_refuses_nan_infinity_and_huge_quantities(case: tuple[Any, ...]) -> None:
    *path, value = case
    with pytest.raises(InvalidInput) as exc:
        pool(_set(BASE, path, value), time_limit=5)
    where = schema.json_path(path)
    assert any(p.path == where for p in exc.value.problems), exc.value.problems


def test_a_lot_of_a_million_vehicles_solves_in_bounded_memory() -> None:
    # At the bound, ranges wider than the reachable-quantity bitset keep their plain bounds.
    doc = contract_example()
    doc["lots"][0]["demand"][0]["quantity"] = schema.MAX_QUANTITY
    doc["suppliers"][0]["capacity"] = schema.MAX_CAPACITY
    doc["bids"][0]["max_quantity"] = schema.MAX_QUANTITY
    out = award(doc, time_limit=20)
    assert out["awarded_quantity"] > 0


def _deep(n: int) -> str:
    return "[" * n + "]" * n


UNREADABLE = [
    ("nan", '{"rules": {}, "suppliers": [], "lots": [], "bids": [], "x": NaN}', "NaN is not a number: line 1"),
    ("infinity", '{"a":\n  -Infinity}', "-Infinity is not a number: line 2 column 3"),
    ("digits", '{"a": ' + "9" * 5000 + "}", "too many digits: line 1 column 7"),
    ("decimal-digits", '{"a": 1.' + "5" * 5000 + "}", "too many digits: line 1 column 7"),
    ("deep", _deep(200_000), "nested more than 100 levels deep: line 1 column 101"),
    ("truncated", '{"a": [1, 2', "line 1 column"),
    ("not-utf8", "\udcff", "not UTF-8"),
]


@pytest.mark.parametrize(("text", "where"), [(c[1], c[2]) for c in UNREADABLE], ids=[c[0] for c in UNREADABLE])
def test_unreadable_json_is_refused_with_where(text: str, where: str) -> None:
    raw = text.encode("utf-8", "surrogateescape")
    with pytest.raises(io.NotJson) as exc:
        io.loads(raw)
    assert where in str(exc.value)


def test_a_string_that_looks_like_nan_is_still_read() -> None:
    assert io.loads('{"id": "NaN 99999999999999999999999999999999999999999999999"}')["id"].startswith("NaN")


@pytest.mark.parametrize("command", ["award", "pool"])
def test_cli_unreadable_json_exits_2_without_a_traceback(tmp_path: Path, command: str) -> None:
    for text in (_deep(200_000), '{"a": ' + "7" * 5000 + "}", '{"a": NaN}'):
        proc = run_cli(tmp_path, command, text)
        assert proc.returncode == 2, proc.stderr[-500:]
        assert proc.stdout == ""
        assert proc.stderr.startswith("$: not valid JSON: ") and "line 1 column" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_huge_quantity_exits_2_naming_the_path(tmp_path: Path) -> None:
    doc = _set(contract_example(), ["lots", 0, "demand", 0, "quantity"], HUGE)
    proc = run_cli(tmp_path, "award", json.dumps(doc))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("lots[0].demand[0].quantity: must be a positive integer, at most 1,000,000")


def test_nan_never_reaches_the_fast_structural_checks() -> None:
    from solver.award.instance import _surely_valid
    from solver.pooling.parse import structurally_ok

    assert not _surely_valid(_set(contract_example(), ["lots", 0, "demand", 0, "max_unit_price"], math.nan))
    assert not structurally_ok(_set(BASE, ["demand", 0, "max_unit_price"], math.nan))

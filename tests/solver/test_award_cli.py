"""The award CLI: exit 2 with one `path: message` line per problem; results on stdout or -o; same bytes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from solver import io, validate_award
from tests.solver.award_helpers import contract_example

ROOT = Path(__file__).resolve().parents[2]


def run_cli(tmp_path: Path, doc: Any, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "in.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "solver", "award", str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def _case(name: str, mutate: Any, path: str) -> Any:
    return pytest.param(mutate, path, id=name)


def _two_bids_one_lot(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    bid = copy.deepcopy(doc["bids"][0])
    bid["id"] = "bid-9"
    doc["bids"].append(bid)
    return doc


def _dup_line(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["lots"][1]["demand"][0]["id"] = doc["lots"][0]["demand"][0]["id"]
    return doc


INVALID = [
    _case(
        "tiers-not-increasing",
        lambda d: _set(d, ["bids", 0, "tiers", 1, "min_quantity"], 10),
        "bids[0].tiers[1].min_quantity",
    ),
    _case(
        "first-tier-not-bid-min",
        lambda d: _set(d, ["bids", 0, "tiers", 0, "min_quantity"], 11),
        "bids[0].tiers[0].min_quantity",
    ),
    _case("two-bids-one-supplier-one-lot", _two_bids_one_lot, "bids[2].lot"),
    _case(
        "package-unknown-lot",
        lambda d: _set(d, ["packages", 0, "items", 1, "lot"], "lot-404"),
        "packages[0].items[1].lot",
    ),
    _case(
        "price-three-decimals",
        lambda d: _set(d, ["bids", 0, "tiers", 1, "unit_price"], 235000.125),
        "bids[0].tiers[1].unit_price",
    ),
    _case(
        "line-price-three-decimals",
        lambda d: _set(d, ["lots", 0, "demand", 0, "max_unit_price"], 1.001),
        "lots[0].demand[0].max_unit_price",
    ),
    _case(
        "item-price-three-decimals",
        lambda d: _set(d, ["packages", 0, "items", 0, "unit_price"], 9.999),
        "packages[0].items[0].unit_price",
    ),
    _case("negative-capacity", lambda d: _set(d, ["suppliers", 0, "capacity"], -1), "suppliers[0].capacity"),
    _case("unknown-supplier-bid", lambda d: _set(d, ["bids", 0, "supplier"], "oem-404"), "bids[0].supplier"),
    _case(
        "unknown-supplier-package", lambda d: _set(d, ["packages", 0, "supplier"], "oem-404"), "packages[0].supplier"
    ),
    _case(
        "unknown-excluded-supplier",
        lambda d: _set(d, ["lots", 0, "demand", 0, "excluded_suppliers"], ["x"]),
        "lots[0].demand[0].excluded_suppliers[0]",
    ),
    _case("unknown-lot-bid", lambda d: _set(d, ["bids", 0, "lot"], "lot-404"), "bids[0].lot"),
    _case("duplicate-supplier-id", lambda d: _set(d, ["suppliers", 1, "id"], "oem-1"), "suppliers[1].id"),
    _case("duplicate-lot-id", lambda d: _set(d, ["lots", 1, "id"], "lot-1"), "lots[1].id"),
    _case("duplicate-line-id", _dup_line, "lots[1].demand[0].id"),
    _case("duplicate-bid-id", lambda d: _set(d, ["bids", 1, "id"], "bid-1"), "bids[1].id"),
    _case("package-id-equals-bid-id", lambda d: _set(d, ["packages", 0, "id"], "bid-1"), "packages[0].id"),
    _case("min-above-max", lambda d: _set(d, ["bids", 1, "min_quantity"], 99), "bids[1].min_quantity"),
    _case("share-cap-zero", lambda d: _set(d, ["rules", "max_share_per_supplier"], 0), "rules.max_share_per_supplier"),
    _case(
        "share-cap-above-one",
        lambda d: _set(d, ["rules", "max_share_per_supplier"], 1.5),
        "rules.max_share_per_supplier",
    ),
    _case("bad-line-service", lambda d: _set(d, ["rules", "line_service"], "partial"), "rules.line_service"),
    _case("zero-winners", lambda d: _set(d, ["rules", "max_winners_per_lot"], 0), "rules.max_winners_per_lot"),
    _case("zero-quantity", lambda d: _set(d, ["lots", 0, "demand", 1, "quantity"], 0), "lots[0].demand[1].quantity"),
    _case("fractional-quantity", lambda d: _set(d, ["bids", 0, "max_quantity"], 10.5), "bids[0].max_quantity"),
    _case(
        "negative-price", lambda d: _set(d, ["bids", 0, "tiers", 0, "unit_price"], -5), "bids[0].tiers[0].unit_price"
    ),
    _case(
        "string-price",
        lambda d: _set(d, ["packages", 0, "items", 0, "unit_price"], "240000"),
        "packages[0].items[0].unit_price",
    ),
    _case("no-tiers", lambda d: _set(d, ["bids", 0, "tiers"], []), "bids[0].tiers"),
    _case("missing-capacity", lambda d: _set(d, ["suppliers", 0], {"id": "oem-1"}), "suppliers[0].capacity"),
    _case("unknown-field", lambda d: _set(d, ["bids", 0, "price"], 3), "bids[0].price"),
    _case(
        "package-lot-twice", lambda d: _set(d, ["packages", 0, "items", 1, "lot"], "lot-1"), "packages[0].items[1].lot"
    ),
    _case("lot-without-lines", lambda d: _set(d, ["lots", 1, "demand"], []), "lots[1].demand"),
]


@pytest.fixture(scope="module")
def invalid_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every invalid case through the real CLI, run concurrently to keep the suite fast."""
    base = tmp_path_factory.mktemp("invalid")
    jobs = {}
    for param in INVALID:
        case_dir = base / param.id
        case_dir.mkdir()
        jobs[param.id] = (case_dir, param.values[0](contract_example()))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, d, doc) for name, (d, doc) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize(("name", "path"), [(p.id, p.values[1]) for p in INVALID])
def test_invalid_input_exits_2_naming_the_field(invalid_runs: dict[str, Any], name: str, path: str) -> None:
    proc = invalid_runs[name]
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines, "a problem must be reported"
    assert any(line.startswith(f"{path}: ") for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_json_exits_2(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "{not json")
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.startswith("$: ")


def test_cli_result_valid_and_identical_bytes(tmp_path: Path) -> None:
    doc = contract_example()
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    p1 = run_cli(tmp_path, doc, "-o", str(out1), "--work-limit", "5")
    p2 = run_cli(tmp_path, doc, "-o", str(out2), "--work-limit", "5", "--verbose")
    assert p1.returncode == 0 and p2.returncode == 0, p1.stderr + p2.stderr
    assert p1.stdout == "" and p1.stderr == ""
    assert "vehicles=" in p2.stderr  # --verbose prints progress to stderr only
    r1, r2 = io.loads(out1.read_bytes()), io.loads(out2.read_bytes())
    assert validate_award(doc, r1) == []
    r1["stats"].pop("solve_seconds")
    r2["stats"].pop("solve_seconds")
    assert io.dumps(r1) == io.dumps(r2)
    assert r1["status"] == "OPTIMAL"


def test_cli_stdout(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, contract_example())
    assert proc.returncode == 0
    result = io.loads(proc.stdout)
    assert result["awarded_quantity"] > 0


def test_fast_structural_check_never_accepts_what_the_schema_rejects() -> None:
    from solver import schema
    from solver.award.instance import _surely_valid

    assert _surely_valid(contract_example())
    for param in INVALID:
        doc = param.values[0](contract_example())
        if _surely_valid(doc):
            assert schema.check(doc, "award-input") == [], param.id

"""The package-set program's exact proof (solver.award.setproof): its optimum bounds every award
(brute force on tiny rounds), it is declared proven only with an award that reaches it and keeps
every capacity, and the award with the proof is the same as without it."""

from __future__ import annotations

import random
import sys
import time

import pytest

from bench.award_instances import make_round
from solver import io
from solver.award import award, setproof, validate_award
from solver.award import vehmaster as vm
from solver.award.cpsat import AwardModel
from solver.award.instance import parse
from solver.award.lagrange import lot_parts
from solver.award.prep import prepare
from solver.award.solution import Solution, objective, to_output
from solver.award.vehsets import package_sets
from tests.solver.award_helpers import brute_force, tiny_round


def _master(doc: dict) -> tuple[int, int]:  # type: ignore[type-arg]
    inst = parse(doc)
    prep = prepare(inst)
    got = vm.tables(inst, prep)
    assert got is not None
    parts, tabs, _ = got
    found = setproof.master(parts, tabs, set(), 60.0)
    assert found is not None
    return found[1], found[2]


def _prove(doc: dict) -> tuple[int, int] | None:  # type: ignore[type-arg]
    inst = parse(doc)
    prep = prepare(inst)
    found = setproof.prove(inst, prep, Solution(), deadline=time.monotonic() + 600)
    if found is None:
        return None
    sol = found.award
    v, c = objective(inst, sol)
    out = to_output(inst, prep, sol, status="OPTIMAL", bound_quantity=v, bound_cents=c, seconds=0.0, search="t")
    assert validate_award(doc, out) == []
    return v, c


@pytest.mark.parametrize("seed", range(100))
def test_the_optimum_bounds_every_award_and_a_proof_is_the_optimum(seed: int) -> None:
    doc = tiny_round(random.Random(seed), whole=True)
    best = brute_force(doc)
    v, c = _master(doc)
    assert (v, -c) >= (best[0], -best[1])
    # where a capacity binds (the program's optimum beyond every award) only setcaps can prove it
    assert _prove(doc) in ((best,) if (v, c) == best else (best, None))


@pytest.mark.parametrize(
    ("seed", "master", "optimum", "proven"),
    [(20, (11, 104500), (11, 106100), True), (84, (7, 62500), (5, 45500), False)],
)
def test_a_round_whose_capacities_bind_is_proven_with_them(
    monkeypatch: pytest.MonkeyPatch, seed: int, master: tuple[int, int], optimum: tuple[int, int], proven: bool
) -> None:
    """Tiny rounds (of seeds 0-199, the two) where a supplier's capacity across lots binds: the
    program's optimum is cheaper (seed 20) or serves more (84) than every award. Not proven by the
    tables' program alone; proven, and the optimum, with the capacities that bind (setcaps), but
    where a lot takes one winner (seed 84: a usage table cannot follow the supplier's lines)."""
    doc = tiny_round(random.Random(seed), whole=True)
    assert brute_force(doc) == optimum
    assert _master(doc) == master
    assert _prove(doc) == (optimum if proven else None)
    monkeypatch.setattr(setproof, "CAPACITIES", False)
    assert _prove(doc) is None


def test_the_capacities_that_bind_prove_such_tiny_rounds() -> None:
    """Seeds 0-399 of the tiny rounds whose capacities bind (8): every proof is the brute-force
    optimum, and setcaps proves each but those whose lots take one winner (3: a usage table
    cannot follow one supplier's lines there)."""
    proven = bound = 0
    for seed in range(400):
        doc = tiny_round(random.Random(seed), whole=True)
        best = brute_force(doc)
        if _master(doc) == best:
            continue
        bound += 1
        got = _prove(doc)
        assert got == best or (got is None and doc["rules"].get("max_winners_per_lot") == 1), seed
        proven += got == best
    assert (proven, bound) == (5, 8)


@pytest.mark.parametrize(
    ("doc", "optimum"),
    [
        (make_round(60, 6, 200, seed=1), (1967, 64070968475)),
    ],
)
def test_the_proof_equals_cp_sat_s_optimum(doc: dict, optimum: tuple[int, int]) -> None:  # type: ignore[type-arg]
    inst = parse(doc)
    prep = prepare(inst)
    r = AwardModel(inst, prep).solve_phase(objective="lex", time_limit=600, work_limit=120, workers=1)
    assert r.optimal and r.solution is not None
    assert _prove(doc) == objective(inst, r.solution) == optimum


def test_a_larger_round_whose_capacities_bind_on_price_is_proven_with_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """make_round(30, 5, 100), seed 5: the program's optimum has CP-SAT's vehicles but is cheaper
    (a supplier at 315 of its 320 vehicles in the build): not proven by the tables' program; with
    that supplier's capacity kept (setcaps), proven and CP-SAT's optimum."""
    doc = make_round(30, 5, 100, seed=5)
    inst = parse(doc)
    prep = prepare(inst)
    r = AwardModel(inst, prep).solve_phase(objective="lex", time_limit=600, work_limit=120, workers=1)
    assert r.optimal and r.solution is not None
    assert objective(inst, r.solution) == (846, 21507409675)
    assert _master(doc) == (846, 21505630500)
    assert _prove(doc) == (846, 21507409675)
    monkeypatch.setattr(setproof, "CAPACITIES", False)
    assert _prove(doc) is None


@pytest.mark.parametrize("price_scale", [1, 10**5])
def test_the_award_is_the_same_with_and_without_the_proof(monkeypatch: pytest.MonkeyPatch, price_scale: int) -> None:
    """make_round(16, 3, 50), seed 1: the program proves the optimum, the tie-break runs from it,
    and the award is the same bytes as the CP-SAT proof's. Also at IDR-like prices (10^5 x:
    unit prices of 10^10 minor units), where the program's one objective V x W - C would overflow
    64 bits (its coefficients sum to 2.8 x 2^62): solved in two stages, still proven."""
    sa = sys.modules["solver.award"]
    doc = make_round(16, 3, 50, seed=1, price_scale=price_scale)
    proofs: list[bool] = []
    prove = setproof.prove

    def counted(*args: object, **kw: object) -> object:
        found = prove(*args, **kw)  # type: ignore[arg-type]
        proofs.append(found is not None)
        return found

    monkeypatch.setattr(setproof, "prove", counted)
    with_proof = award(doc, time_limit=600)
    assert proofs == [True]
    monkeypatch.setattr(sa, "SET_PROOF", False)
    without = award(doc, time_limit=600)
    assert proofs == [True]
    assert with_proof["status"] == without["status"] == "OPTIMAL"
    assert with_proof["stats"]["tie_break"]["applied"]
    assert io.dumps({k: v for k, v in with_proof.items() if k != "stats"}) == io.dumps(
        {k: v for k, v in without.items() if k != "stats"}
    )


def test_a_round_whose_tables_would_cost_too_much_is_not_tabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """One lot of 12 lines with 30 suppliers, 29 of them with a one-line package: only 4,090 sets,
    but each a DP over 3^12 mask pairs per supplier and winner layer (4.2 units of estimated work,
    1.7 s of CPU where the CP-SAT proof takes little): no tables, no proof."""
    lines = [{"id": f"d{i:02d}", "quantity": 1, "max_unit_price": 100, "excluded_suppliers": []} for i in range(12)]
    sups = [f"s{i:02d}" for i in range(30)]
    doc = {
        "rules": {"line_service": "whole", "max_share_per_supplier": 1, "max_winners_per_lot": 3},
        "suppliers": [{"id": s, "capacity": 100} for s in sups],
        "lots": [{"id": "L0", "demand": lines}],
        "bids": [
            {
                "id": f"b-{s}",
                "supplier": s,
                "lot": "L0",
                "min_quantity": 1,
                "max_quantity": 12,
                "tiers": [{"min_quantity": 1, "unit_price": 90 + i % 10}],
            }
            for i, s in enumerate(sups)
        ],
        "packages": [
            {"id": f"p-{s}", "supplier": s, "items": [{"lot": "L0", "quantity": 1, "unit_price": 80 + i % 10}]}
            for i, s in enumerate(sups[1:])
        ],
    }
    inst = parse(doc)
    prep = prepare(inst)
    (part,) = lot_parts(inst, prep)
    assert len(package_sets(inst, part)) == 4090

    def no_tables(*args: object) -> None:
        raise AssertionError("tables built")

    monkeypatch.setattr(vm, "set_table", no_tables)
    assert setproof.prove(inst, prep, Solution(), deadline=time.monotonic() + 600) is None
    assert setproof.table_work(inst, part, package_sets(inst, part)) > setproof.MAX_TABLE_WORK

"""Symmetry breaking between interchangeable lines (solver.award.rules.symmetry), used by the price proof.

It may only remove awards that a swap of interchangeable lines turns into one it keeps: the
proven optimum must stay the true one (brute force on tiny rounds that have such lines), and
the hint it sorts must stay a valid award with the same vehicles and price.
"""

from __future__ import annotations

import random

from ortools.sat.python import cp_model

from solver.award import award, validate_award
from solver.award.cpsat import AwardModel
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.rules import symmetry
from solver.award.solution import Solution, objective
from solver.money import to_cents
from tests.solver.award_helpers import brute_force, tiny_round
from tests.solver.test_award_model_rules import admits, round_doc

# d1 and d2 (same lot, same quantity, same sources) are interchangeable; d3 is not (quantity).
TWINS = round_doc(
    {"L1": {"d1": 3, "d2": 3, "d3": 4}},
    [("b1", "s1", "L1", 1, 10, [(1, 100)]), ("b2", "s2", "L1", 1, 10, [(1, 95)])],
    line_service="whole",
)


def test_of_two_swapped_awards_the_symmetric_model_keeps_exactly_one() -> None:
    ordered = {"b1": {"d1": 3}, "b2": {"d2": 3, "d3": 4}}
    swapped = {"b1": {"d2": 3}, "b2": {"d1": 3, "d3": 4}}
    assert admits(TWINS, ordered) and admits(TWINS, swapped)  # the plain model keeps both
    assert admits(TWINS, ordered, symmetry.add)
    assert not admits(TWINS, swapped, symmetry.add)


def test_lines_of_different_quantities_are_not_ordered() -> None:
    inst = parse(TWINS)
    model = AwardModel(inst, prepare(inst))
    assert symmetry.groups(inst, symmetry.options_of(model.families)) == [[0, 1]]


def test_the_sorted_hint_is_the_same_award_up_to_the_swap_and_the_model_accepts_it() -> None:
    inst = parse(TWINS)
    prep = prepare(inst)
    model = AwardModel(inst, prep, serve_all=True, symmetry=True)
    swapped = Solution(bids={0: {1: 3}, 1: {0: 3, 2: 4}})  # b1 gets d2, b2 gets d1 and d3
    sorted_ = symmetry.canonical_hint(inst, symmetry.options_of(model.families), swapped)
    assert sorted_.bids == {0: {0: 3}, 1: {1: 3, 2: 4}}
    assert objective(inst, sorted_) == objective(inst, swapped)
    # the model accepts it as a complete hint: fix every variable to it
    model.hint(swapped)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(model.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assert model.extract(solver.value).bids == sorted_.bids


def test_the_proven_optimum_with_symmetry_breaking_equals_brute_force() -> None:
    checked = 0
    for seed in range(400):
        rng = random.Random(seed)
        doc = tiny_round(rng)
        inst = parse(doc)
        model = AwardModel(inst, prepare(inst))
        if not symmetry.groups(inst, symmetry.options_of(model.families)):
            continue
        result = award(doc, time_limit=20, work_limit=20, backups=False)
        assert validate_award(doc, result) == [], seed
        assert result["status"] == "OPTIMAL", seed
        assert (result["awarded_quantity"], to_cents(result["total_price"])) == brute_force(doc), seed
        checked += 1
        if checked == 40:
            break
    assert checked == 40

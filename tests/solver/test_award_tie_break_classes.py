"""The tie-break found class by class (solver.award.cpsat.AwardModel.canonical): an award's class
(each tier's quantity, each package chosen or not) fixes its price and vehicles, so the least T
of every optimal class, the least of those, is the rule's award (TIE_BREAK_RULE). It must be the
award that minimizing T over all the optima at once returns, both proven."""

from __future__ import annotations

import copy
import importlib

import pytest

from bench.award_instances import make_round
from solver.award import award
from solver.award.bounds import servable_lines
from solver.award.cpsat import AwardModel
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.award.rules import symmetry
from solver.award.solution import objective

award_module = importlib.import_module("solver.award")


def _optimum(doc):
    inst = parse(doc)
    prep = prepare(inst)
    model = AwardModel(inst, prep)
    r = model.solve_phase(objective="lex", time_limit=600, work_limit=30, workers=1, proof=True)
    assert r.optimal
    return inst, prep, r.solution


def _same_quantities(doc):
    """Every line of a lot asks the same quantity: many awards share the optimal price."""
    doc = copy.deepcopy(doc)
    for lot in doc["lots"]:
        for d in lot["demand"]:
            d["quantity"] = 3
    return doc


def _two_sources_tied(doc):
    """Two bids of different suppliers in one lot at the same low price: several optimal classes."""
    doc = copy.deepcopy(doc)
    for lot in doc["lots"]:
        bids = [b for b in doc["bids"] if b["lot"] == lot["id"]]
        if len({b["supplier"] for b in bids}) >= 2:
            price = min(d["max_unit_price"] for d in lot["demand"]) / 2
            for b in bids[:2]:
                b["tiers"] = [{"min_quantity": b["min_quantity"], "unit_price": price}]
            return doc
    raise AssertionError("no lot with two suppliers")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", [lambda d: d, _same_quantities, _two_sources_tied])
def test_class_by_class_gives_the_least_t_over_all_optima(seed, shape) -> None:
    inst, prep, sol = _optimum(shape(make_round(6, 4, 24, seed=seed)))
    vehicles, cents = objective(inst, sol)
    by_class = AwardModel(inst, prep).canonical(vehicles, cents, sol, time_limit=600, work_limit=20)
    at_once = AwardModel(inst, prep).canonical(vehicles, cents, sol, time_limit=600, work_limit=20, by_class=False)
    assert by_class.proven and at_once.proven
    assert by_class.solution == at_once.solution
    assert objective(inst, by_class.solution) == (vehicles, cents)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", [lambda d: d, _same_quantities])
def test_tie_break_on_the_serve_all_model_is_the_rules_award(seed, shape) -> None:
    """When the optimum serves every servable line, the tie-break runs on the serve_all model (its
    per-line equalities prove faster): the award must be the one T over all the optima gives."""
    # capacity and share caps wide enough for every line to be served
    doc = shape(make_round(6, 4, 24, seed=seed, capacity_share=(1.0, 1.2), max_share=1.0))
    inst, prep, sol = _optimum(doc)
    vehicles, cents = objective(inst, sol)
    assert vehicles == sum(inst.lines[li].quantity for li in servable_lines(prep))
    on_serve_all = AwardModel(inst, prep, serve_all=True).canonical(vehicles, cents, sol, time_limit=600, work_limit=20)
    at_once = AwardModel(inst, prep).canonical(vehicles, cents, sol, time_limit=600, work_limit=20, by_class=False)
    assert on_serve_all.proven and at_once.proven
    assert on_serve_all.solution == at_once.solution


def test_no_other_optimal_class_is_proven_on_a_small_work_budget() -> None:
    """The tie-break's dearest step is proving that the optima have no class but the one found. As
    one search minimizing 2 x price - `other` from the optimum it takes 0.05 units of work on this
    60-bid round (proving "no award of another class within the price" infeasible took 0.31), so
    the canonical award is proven within a budget of 0.15."""
    inst, prep, sol = _optimum(make_round(10, 6, 60, seed=2))
    vehicles, cents = objective(inst, sol)
    assert vehicles == sum(inst.lines[li].quantity for li in servable_lines(prep))
    r = AwardModel(inst, prep, serve_all=True).canonical(vehicles, cents, sol, time_limit=600, work_limit=0.15)
    assert r.proven
    assert objective(inst, r.solution) == (vehicles, cents)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_class_proof_on_the_ordered_model_gives_the_rules_award(seed) -> None:
    """The proof that the optima have no other class runs on the model with interchangeable lines
    ordered (solver.award.TIE_SYMMETRY): swapping what two such lines receive keeps an award's
    class, so the award must be the one T over all the (unordered) optima gives, on rounds where
    every line of a lot asks the same quantity (many such lines). Asked for T over all the optima
    at once, the ordered model answers on a model without the ordering: the same award."""
    inst, prep, sol = _optimum(_same_quantities(make_round(6, 4, 24, seed=seed)))
    vehicles, cents = objective(inst, sol)
    ordered = AwardModel(inst, prep, symmetry=True)
    assert symmetry.groups(inst, symmetry.options_of(ordered.families))
    by_class = ordered.canonical(vehicles, cents, sol, time_limit=600, work_limit=20)
    at_once = AwardModel(inst, prep).canonical(vehicles, cents, sol, time_limit=600, work_limit=20, by_class=False)
    ordered_at_once = AwardModel(inst, prep, symmetry=True).canonical(
        vehicles, cents, sol, time_limit=600, work_limit=20, by_class=False
    )
    assert by_class.proven and at_once.proven and ordered_at_once.proven
    assert by_class.solution == at_once.solution == ordered_at_once.solution


def test_the_ordered_class_proof_fits_a_budget_the_plain_one_does_not(monkeypatch) -> None:
    """With interchangeable lines ordered, the award's tie-break is proven on this 24-bid round
    within 0.01 units of work (it uses 0.002; the plain model's proof needs 0.028): the award says
    its tie-break is applied and is the same as with the default budget."""
    doc = _same_quantities(make_round(6, 4, 24, seed=2))
    full = award(doc, time_limit=600, backups=False)
    monkeypatch.setattr(award_module, "tie_break_work", lambda work_limit, spent: 0.01)
    small = award(doc, time_limit=600, backups=False)
    assert full["status"] == small["status"] == "OPTIMAL"
    assert full["stats"]["tie_break"]["applied"] and small["stats"]["tie_break"]["applied"]
    assert {k: v for k, v in small.items() if k != "stats"} == {k: v for k, v in full.items() if k != "stats"}


def test_the_class_proof_starts_from_a_complete_hint_with_the_price_proofs_parameters(monkeypatch) -> None:
    """The proof that the optima have no other class hints every variable of its model (the class
    literals too, all 0, which fit any award): CP-SAT then takes the optimum as its first solution
    in presolve, where a hint without them was only repaired in the search. It runs with the price
    proof's parameters (cpsat.PROOF_PARAMS: the whole LP from the start). Each class proof of the
    tie-break below is checked (that its award is the rule's: the tests above)."""
    from ortools.sat.python import cp_model

    from solver.award import cpsat

    inst, prep, sol = _optimum(_two_sources_tied(make_round(6, 4, 24, seed=2)))
    vehicles, cents = objective(inst, sol)
    proof_solvers: list[cp_model.CpSolver] = []
    seen: list[tuple[int, int, bool]] = []  # (variables, hinted, parameters as the price proof's)
    tie_solver, solve = cpsat.AwardModel._tie_solver, cp_model.CpSolver.solve

    def spy_tie_solver(self, *a, proof=False, **kw):
        s = tie_solver(self, *a, proof=proof, **kw)
        if proof:
            proof_solvers.append(s)
        return s

    def spy_solve(self, model, *a, **kw):
        if any(self is s for s in proof_solvers):
            p = model.proto
            same = all(getattr(self.parameters, k) == v for k, v in cpsat.PROOF_PARAMS.items())
            seen.append((len(p.variables), len(set(p.solution_hint.vars)), same))
        return solve(self, model, *a, **kw)

    monkeypatch.setattr(cpsat.AwardModel, "_tie_solver", spy_tie_solver)
    monkeypatch.setattr(cp_model.CpSolver, "solve", spy_solve)
    r = AwardModel(inst, prep, symmetry=True).canonical(vehicles, cents, sol, time_limit=600, work_limit=20)
    assert len(seen) >= 2  # several optimal classes: a class proof per class seen
    assert all(n == hinted and same for n, hinted, same in seen), seen
    assert r.proven and objective(inst, r.solution) == (vehicles, cents)


def test_the_tie_break_may_spend_what_the_exact_search_left_of_the_work_limit(monkeypatch) -> None:
    """One budget for the exact phases: with TIE_BREAK_WORK far below what this round's class proof
    needs (0.0001 units), the tie-break still finishes on what the price proof left of the round's
    30 units, and the award is the one the default gives. The rule itself: never more than the work
    limit, at least TIE_BREAK_WORK (when the limit allows), else what the exact search left."""
    doc = make_round(6, 4, 24, seed=2)
    full = award(doc, time_limit=600, backups=False)
    monkeypatch.setattr(award_module, "TIE_BREAK_WORK", 0.0001)
    small = award(doc, time_limit=600, backups=False)
    assert full["stats"]["tie_break"]["applied"] and small["stats"]["tie_break"]["applied"]
    assert {k: v for k, v in small.items() if k != "stats"} == {k: v for k, v in full.items() if k != "stats"}
    assert small["stats"]["limits"]["stopped_by"] == "nothing"
    monkeypatch.setattr(award_module, "TIE_BREAK_WORK", 5.0)
    assert award_module.tie_break_work(30.0, 18.7) == pytest.approx(11.3)
    assert award_module.tie_break_work(30.0, 28.0) == 5.0
    assert award_module.tie_break_work(1.0, 0.5) == 1.0
    assert award_module.tie_break_work(None, 3.0) == 5.0


def test_the_class_proof_without_serve_all_puts_the_vehicles_in_its_objective() -> None:
    """When not every line can be served (capacity short), the class proof's model does not fix the
    vehicles by a constraint but scores them in its objective (2 x price - `other` - 2 x W x
    vehicles): on this 60-bid round it proves that the optima have one class in 0.31 units of work
    where `vehicles >= optimum` as a constraint needed 0.95, so a budget of 0.6 is enough. The award
    is the one T over all the optima at once gives."""
    inst, prep, sol = _optimum(make_round(18, 4, 60, seed=2))
    vehicles, cents = objective(inst, sol)
    assert vehicles < sum(inst.lines[li].quantity for li in servable_lines(prep))
    r = AwardModel(inst, prep, symmetry=True).canonical(vehicles, cents, sol, time_limit=600, work_limit=0.6)
    at_once = AwardModel(inst, prep).canonical(vehicles, cents, sol, time_limit=600, work_limit=20, by_class=False)
    assert r.proven and at_once.proven
    assert r.solution == at_once.solution

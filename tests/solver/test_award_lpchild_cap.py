"""The large plan's LPs stop on a deterministic budget (solver.award.lpchild.LARGE_PLAN_WORK, GLOP's
deterministic time), not only on the clock: a round whose LP needs more than the budget ends on
"work" with the same bounds on every machine, instead of on "time". Its bound then comes from PDLP's
approximate duals on an iteration limit (lpchild.APPROX_ITERATIONS), also the same everywhere."""

from __future__ import annotations

import functools
import importlib
import time

from bench.award_instances import make_round
from solver.award.bounds import price_bound, vehicle_bound
from solver.award.greedy import greedy
from solver.award.instance import parse
from solver.award.lpbound import LpModel
from solver.award.lpchild import FULL_PLAN_VARS, BoundsChild
from solver.award.prep import prepare
from solver.award.solution import objective


def _child(doc: dict, monkeypatch, work: float) -> BoundsChild:
    monkeypatch.setattr(importlib.import_module("solver.award.lpchild"), "LARGE_PLAN_WORK", work)
    inst = parse(doc)
    prep = prepare(inst)
    g = objective(inst, greedy(inst, prep))[0]
    return BoundsChild(inst, prep, g, vehicle_bound(inst, prep), FULL_PLAN_VARS + 1, time.monotonic() + 300)


@functools.lru_cache(maxsize=1)
def _optimum() -> tuple[int, int]:
    """The proven optimum of the tests' round (make_round(16, 6, 90, seed=4)): vehicles, cents."""
    from solver.award import award
    from solver.money import to_cents

    best = award(make_round(16, 6, 90, seed=4), time_limit=120)
    assert best["status"] == "OPTIMAL"
    return best["awarded_quantity"], to_cents(best["total_price"])


def _lagrangian_holds(child: BoundsChild) -> None:
    """The child's Lagrangian price bound arrived, never above the optimum's price, and is part of
    the bound it reports for the optimum's count."""
    assert child.lag_done and child.lag_price is not None
    base, pi = child.lag_price
    v, cents = _optimum()
    assert base + pi * v <= cents  # valid
    assert (child.price_bound(v) or 0) >= base + pi * v  # and part of the bound


def test_a_large_plan_lp_over_its_budget_gives_pdlp_s_bound_on_work_not_time(monkeypatch) -> None:
    doc = make_round(16, 6, 90, seed=4)
    child = _child(doc, monkeypatch, 1e-9)
    g = child.greedy_vehicles
    assert child.collect(300, g) and child.complete(g)  # not the clock
    inst = parse(doc)
    prep = prepare(inst)
    lp = LpModel(inst, prep)
    top = child.lp_vbound
    assert top is not None and top > g
    for v in (g, top):
        bound, own = child.pbounds.get(v), lp.price_bound(v, 60)  # PDLP's (the Lagrangian may be higher)
        assert bound is not None and own is not None
        assert bound <= own + 1  # not above the LP's (which rounds up by 1e-9)
    # PDLP runs at the top count: there its bound is the LP's, well above the cheap bound
    assert (child.price_bound(top) or 0) >= (lp.price_bound(top, 60) or 0) * (1 - 1e-5) > price_bound(inst, prep, top)


def test_over_its_budget_the_large_plan_sends_the_lagrangian_from_pdlp_s_duals(monkeypatch) -> None:
    """The Lagrangian holds for any multipliers: the large plan starts it from PDLP's duals when
    GLOP stopped on its work limit; the child waits for it, and it stays below the optimum."""
    doc = make_round(16, 6, 90, seed=4)
    child = _child(doc, monkeypatch, 1e-9)
    g = child.greedy_vehicles
    assert child.collect(300, g) and child.complete(g)
    _lagrangian_holds(child)


def test_without_pdlp_s_bound_the_cheap_bound_stays(monkeypatch) -> None:
    monkeypatch.setattr(LpModel, "approx_duals", lambda *a: None)
    doc = make_round(16, 6, 90, seed=4)
    child = _child(doc, monkeypatch, 1e-9)
    g = child.greedy_vehicles
    assert child.collect(300, g)  # not the clock
    assert child.capped and not child.complete(g)
    assert child.pbounds == {} and child.price_bound(g) is None  # nothing arrived: the cheap bound stays


def test_within_its_budget_the_large_plan_completes_as_before(monkeypatch) -> None:
    doc = make_round(16, 6, 90, seed=4)
    child = _child(doc, monkeypatch, 60.0)
    g = child.greedy_vehicles
    assert child.collect(300, g) and child.complete(g) and not child.capped
    inst = parse(doc)
    assert (child.price_bound(g) or 0) > price_bound(inst, prepare(inst), g)


def test_an_award_whose_lp_is_over_budget_ends_on_work_with_the_same_bytes_beside_a_busy_neighbour(
    monkeypatch,
) -> None:
    from solver import io
    from solver.award import award, validate_award
    from solver.money import to_cents
    from tests.solver.busy import beside_a_busy_neighbour

    monkeypatch.setattr(importlib.import_module("solver.award"), "MAX_GLOBAL_PRICE_VARS", 0)
    monkeypatch.setattr(importlib.import_module("solver.award"), "DEFAULT_WORK_LNS_MAX", 2.0)
    monkeypatch.setattr(importlib.import_module("solver.award"), "MID_FACTOR", 1.0)  # the budget stays 2.0
    monkeypatch.setattr(importlib.import_module("solver.award.lpchild"), "FULL_PLAN_VARS", 0)
    monkeypatch.setattr(importlib.import_module("solver.award.lpchild"), "LARGE_PLAN_WORK", 1e-9)
    doc = make_round(16, 6, 90, seed=4)

    def run() -> str:
        result = award(doc, time_limit=300)
        stats = result["stats"]
        assert stats["limits"] == {"work_limit": 2.0, "stopped_by": "work"}
        assert validate_award(doc, result) == []
        inst = parse(doc)
        # PDLP's bound, above the cheap bound of the award's count
        assert to_cents(stats["bound_price"]) > price_bound(inst, prepare(inst), result["awarded_quantity"])
        return io.dumps({**result, "stats": {k: v for k, v in stats.items() if k != "solve_seconds"}})

    assert run() == beside_a_busy_neighbour(run)


def test_the_large_plan_sends_the_lagrangian_price_bound_and_it_holds(monkeypatch) -> None:
    """After its top price LP the large plan computes the Lagrangian price bound from the LP's
    duals (solver.award.lagrange, LARGE_PLAN_STEPS subgradient steps): the child waits for it,
    it is at least the LP's bound and never above the proven optimum's price."""
    doc = make_round(16, 6, 90, seed=4)
    child = _child(doc, monkeypatch, 60.0)
    g = child.greedy_vehicles
    assert child.collect(300, g) and child.complete(g) and not child.capped
    _lagrangian_holds(child)


def test_the_large_plan_lagrangian_runs_on_a_count_of_lot_solves() -> None:
    from solver.award.lpchild import LARGE_PLAN_LOT_SOLVES, LARGE_PLAN_MAX_STEPS, large_plan_steps

    assert large_plan_steps(500) == 10  # 10,000 bids, default shape: 11 passes over 500 lots
    assert large_plan_steps(2000) == 1  # few-suppliers
    assert large_plan_steps(16) == LARGE_PLAN_MAX_STEPS
    assert large_plan_steps(LARGE_PLAN_LOT_SOLVES) == 0
    assert large_plan_steps(LARGE_PLAN_LOT_SOLVES + 1) is None  # not even one pass


def test_the_lagrangian_from_pdlp_s_duals_runs_on_a_count_of_the_lots_sources() -> None:
    """The first price LP stops on a small budget, so the CPU GLOP no longer spends there pays for
    more subgradient steps from PDLP's duals than after a finished top price LP; they follow the
    lots' sources (bids, package copies, suppliers), which a pass's CPU follows, not the lots: the
    1,998 small lots of few-suppliers at 10,000 bids take as many steps as arbitrary's 500 (on a
    count of lot solves, 9 against 40)."""
    from bench.award_families import FAMILIES
    from solver.award.lagrange import lot_parts, pass_size
    from solver.award.lpchild import APPROX_MAX_STEPS, APPROX_WORK, approx_plan_steps, large_plan_steps

    steps = {}
    for family in ("few-suppliers", "arbitrary"):
        n_lots, n_oems, kw = FAMILIES[family][10_000]
        inst = parse(make_round(n_lots, n_oems, 10_000, seed=1, **kw))
        parts = lot_parts(inst, prepare(inst))
        steps[family, len(parts)] = approx_plan_steps(pass_size(inst, parts))
    assert steps == {("few-suppliers", 1998): APPROX_MAX_STEPS, ("arbitrary", 500): APPROX_MAX_STEPS}
    assert APPROX_MAX_STEPS == 40 > large_plan_steps(500) == 10
    assert approx_plan_steps(APPROX_WORK) == 0
    assert approx_plan_steps(APPROX_WORK + 1) is None  # not even one pass


def test_over_its_budget_the_large_plan_takes_the_approx_plan_s_steps(monkeypatch) -> None:
    """In the child's plan itself (run in this process): when GLOP stops on its work limit, the
    Lagrangian from PDLP's duals takes approx_plan_steps(pass_size) subgradient steps, and its bound
    stays below the proven optimum's price."""
    from solver.award import lagrange, lpchild, polyak

    monkeypatch.setattr(lpchild, "LARGE_PLAN_WORK", 1e-9)
    asked: list[int] = []
    targets: list[tuple[int, int] | None] = []
    toward = polyak.toward_award

    def spy(*args, **kwargs):
        asked.append(kwargs["steps"])
        targets.append(args[3])
        return toward(*args, **kwargs)

    monkeypatch.setattr(polyak, "toward_award", spy)

    class Conn:
        def __init__(self) -> None:
            self.sent: list[tuple] = []

        def send(self, msg: tuple) -> None:
            self.sent.append(msg)

        def close(self) -> None:
            pass

    inst = parse(make_round(16, 6, 90, seed=4))
    prep = prepare(inst)
    g, g_cents = objective(inst, greedy(inst, prep))
    conn = Conn()
    lpchild._large_child(inst, prep, g, vehicle_bound(inst, prep), time.monotonic() + 300, conn, g_cents)
    size = lagrange.pass_size(inst, lagrange.lot_parts(inst, prep))
    assert asked == [lpchild.approx_plan_steps(size)] == [lpchild.APPROX_MAX_STEPS]
    lag = [m for m in conn.sent if m[0] == "L"]
    assert len(lag) == 1 and lag[0][1] is not None
    base, pi = lag[0][1]
    assert targets == [(g, g_cents)]  # polyak's steps (with momentum) towards the greedy's award
    v, cents = _optimum()
    assert base + pi * v <= cents


def test_an_lp_that_glop_ends_abnormal_on_its_work_limit_counts_as_stopped_on_work() -> None:
    """GLOP may end ABNORMAL when its deterministic limit stops it (regions at 10,000 bids on 15
    units): that counts as stopped on work (so PDLP's bound follows), not as an answer."""
    import ortools.linear_solver.pywraplp as pywraplp

    inst = parse(make_round(16, 6, 90, seed=4))
    lp = LpModel(inst, prepare(inst))
    glop = lp._solver("price")

    class Abnormal:
        def __init__(self, real: object) -> None:
            self.real = real

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

        def Solve(self) -> int:  # pywraplp's name
            self.real.Solve()
            return pywraplp.Solver.ABNORMAL

    glop.solver = Abnormal(glop.solver)
    lp.max_work = 60.0
    assert lp.price_bound(50, 60) is None
    assert lp.capped and not lp.infeasible

"""The proven bounds of large rounds, computed beside the neighbourhood search in a forked child
process on the second core (GLOP holds the GIL, so a thread would stall the search).

What the child computes, in order, is a plan chosen from the round's size alone:

- "full" (up to FULL_PLAN_VARS allocation variables: 2,000-bid rounds): the LP's vehicle bound
  (solver.award.lpbound), price bounds at the counts of price_bound_counts (the vehicle bound,
  the greedy's count, then 1, 2, 4, ... below the bound) and, after the first two, the Lagrangian
  bounds over lots (solver.award.lagrange);
- "large" (above it): the price LP at the greedy's count, then at the cheap vehicle bound
  (solver.award.bounds). At 10,000 bids (119,000 variables; CPU of one process) the vehicle LP
  took 46.6 s, each price LP 18 s and each Lagrangian pass 40-54 s, so the full plan's bound did
  not arrive within the 120 s limit and the award kept the cheap bound (gap 3.16 %). The price LP
  at the greedy's count is always feasible and bounds every larger count along its tangent; when
  the LP holds the cheap vehicle bound's count, the vehicle LP is not needed (the cheap bound is
  the vehicle bound); when it does not, the vehicle LP runs and the top price LP is at its bound.
  Its LPs stop on deterministic work (LARGE_PLAN_WORK): an LP stopped there ends the plan, the
  bound being the best of what arrived before it, the same on every machine (stopped_by "work").
  After the top price LP, the Lagrangian price bound from its duals with subgradient steps
  within LARGE_PLAN_LOT_SOLVES lot solves (a count: the same everywhere; each pass over the 500
  lots of a 10,000-bid round about 1 s of CPU with solver.award.lotdp).
  When the first price LP stops there (a small budget: only the easy LPs finish; regions and
  arbitrary bundles do not), PDLP's approximate duals of the price LP at the top count, on an
  iteration limit, give a proven bound for both counts instead (solver.award.dualbound: weak
  duality in exact arithmetic), and the Lagrangian from them takes the steps the CPU GLOP did not
  spend pays for (approx_plan_steps, a count of the lots' sources).

A price bound for k vehicles holds for every award with at least k vehicles; it carries to any
other count V along its tangent (lpbound.tangent_bound: up from a count below V, down from a
count above it). The award's bound for V vehicles is the best over the bounds the plan fixes
for V (required): full: the first two counts, the largest count <= V, and the Lagrangian's;
large: both counts and the Lagrangian's. So the bound reported never depends on what else arrived in time; the
clock only matters when a required bound is not there by the deadline (stopped_by "time").
"""

from __future__ import annotations

import time
from typing import Any

from solver.award.instance import Instance
from solver.award.prep import Prepared

# Allocation variables (cpsat.model_size) up to which the child follows the full plan (2,000-bid
# rounds: about 23,000, all of it in 15-30 s of CPU); above, the large plan.
FULL_PLAN_VARS = 60_000
# The large plan's LPs stop on GLOP's deterministic time (its own count of work, the same on every
# machine): the first (cold) price LP after LARGE_PLAN_WORK units, each later one after
# LARGE_PLAN_WORK_AFTER, so a round whose LPs need more ends on that limit, with the same bounds
# everywhere, instead of on the clock; the first one then gives way to PDLP's approximate duals
# (_send_approx). 10,000 bids, seed 1: a unit cost 1.2-1.5 s of CPU; the cold price LP took
# default and tiers-1-15 5-12 s, few-suppliers 34 s, regions 39-41 s, arbitrary over 107 s. At 50
# units only arbitrary stopped, after about 60 s of CPU for nothing; at LARGE_PLAN_WORK only the
# easy LPs finish, and the CPU the hard ones no longer spend pays for the Lagrangian's steps from
# PDLP's duals (approx_plan_steps).
LARGE_PLAN_WORK = 15.0
LARGE_PLAN_WORK_AFTER = 10.0
# The large plan's Lagrangian price bound (solver.award.lagrange.improved_bound) after the top price
# LP: its passes over the lots may solve at most LARGE_PLAN_LOT_SOLVES lots in all (a count, so the
# bound is the same on every machine), so 10 subgradient steps after the first pass on 500 lots
# (10,000 bids, default shape), 1 on 2,000 (few-suppliers); none with more lots than that; at
# most LARGE_PLAN_MAX_STEPS (on few lots, e.g. many-suppliers' 200).
LARGE_PLAN_LOT_SOLVES = 5_500
LARGE_PLAN_MAX_STEPS = 20


def large_plan_steps(lots: int) -> int | None:
    """Subgradient steps of the large plan's Lagrangian for `lots` lots; None: no Lagrangian."""
    from solver.award import lagrange

    return lagrange.steps_for(lots, LARGE_PLAN_LOT_SOLVES, LARGE_PLAN_MAX_STEPS)


# When the first price LP stops on LARGE_PLAN_WORK (10,000 bids, arbitrary bundles: GLOP needs
# over 180 s of CPU), the bound comes from approximate duals instead: PDLP (first-order, one thread)
# stopped after this many iterations, its duals made a proven bound in exact arithmetic
# (solver.award.dualbound). 10,000 bids, arbitrary, seed 1, the bound for the award's 19,159 vehicles
# (PDLP at the top count, 19,160) after 1,000 / 1,500 / 2,000 / 3,000 iterations: 584,224,581,391 /
# 587,128,058,292 / 587,371,852,724 / 587,420,706,635 cents (PDLP's own estimate of the LP's optimum:
# 587.45e9), in 6.2 / 7.9 / 12.0 / 15.8 s of CPU. The Lagrangian (large_plan_steps) then starts
# from these duals: after its 10 steps 590,572,273,509 from 1,000 iterations, 590,494,650,851 from
# 2,000 (the rougher duals leave the subgradient more to gain), so 1,000.
APPROX_ITERATIONS = 1000
# The Lagrangian from PDLP's duals (after the first price LP stopped on LARGE_PLAN_WORK): its passes
# take at most APPROX_WORK in all, a count of the lots' sources (lagrange.pass_size: a pass's CPU
# follows it: at 10,000 bids arbitrary's 500 lots 39,110 sources 1.44 s, few-suppliers' 1,998 lots
# 31,869 1.1 s), at most APPROX_MAX_STEPS steps, each Polyak's towards the greedy's award. 10,000
# bids, seed 1, under load (python -m bench.award_cpu --lp --sizes 10000): arbitrary GLOP 63.3 ->
# 24.3 s (50 -> 15 units), bound at 19,160 after 10 / 40 steps 590.62e9 / 591.66e9 cents (Polyak's:
# 591.89e9), LP child 85.8 -> 84.1 s; regions (now on PDLP) 61.2 -> 70.6 s; gaps arbitrary 2.026
# -> 1.854 %, regions 1.510 -> 1.210 %. few-suppliers (20,500 lot solves: 9 steps) 9 / 40 steps
# 2,492.8e9 / 2,502.2e9 at 75,487 vehicles (Polyak's: 2,505.4e9).
APPROX_WORK = 1_650_000
APPROX_MAX_STEPS = 40


def approx_plan_steps(size: int) -> int | None:
    """Subgradient steps from PDLP's duals for passes of `size` (lagrange.pass_size); None: none."""
    from solver.award import lagrange

    return lagrange.steps_for(size, APPROX_WORK, APPROX_MAX_STEPS)


def price_bound_counts(greedy_vehicles: int, vehicle_bound: int) -> list[int]:
    """The full plan's vehicle counts k, most useful first: the bound (the search often serves
    every line), the greedy count (always reached), then counts just below the bound (1, 2, 4, ...
    fewer), so an award a few vehicles short of the bound still gets a price bound close to its
    own count."""
    ks = [vehicle_bound]
    if greedy_vehicles < vehicle_bound:
        ks.append(greedy_vehicles)
    d = 1
    while vehicle_bound - d > greedy_vehicles:
        ks.append(vehicle_bound - d)
        d *= 2
    return ks


class BoundsChild:
    """The child process and what it sent: ("v", vehicle bound), ("p", k, price bound or None,
    slope rounded down, slope rounded up), ("L", (base, pi) or None), ("V", vehicle bound or None),
    ("time",) when its deadline stopped an LP. `greedy_cents`: the greedy's price (Polyak's target)."""

    def __init__(
        self,
        inst: Instance,
        prep: Prepared,
        greedy_vehicles: int,
        cheap_vehicles: int,
        size: int,
        deadline: float,
        greedy_cents: int | None = None,
    ):
        import multiprocessing

        self.large = size > FULL_PLAN_VARS
        self.greedy_vehicles = greedy_vehicles
        self.vbound: int | None = None
        self.lp_vbound: int | None = None  # the count the plan's counts follow (large: the top price LP's)
        self.pbounds: dict[int, int | None] = {}
        self.slopes: dict[int, tuple[float, float]] = {}  # per count, the vehicle-row dual rounded down, up
        self.lag_done = False  # the Lagrangian bounds arrived (or the plan said there are none)
        self.lag_price: tuple[int, int] | None = None  # (base, pi): base + pi x V bounds the price
        self.proc = None
        self.done = False
        self.capped = False  # an LP of the large plan stopped on its work limit (deterministic)
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:  # no fork on this platform: no LP bounds
            return
        self.conn, child = ctx.Pipe(duplex=False)
        target = _large_child if self.large else _full_child
        args = (inst, prep, greedy_vehicles, cheap_vehicles, deadline, child)
        kw = {"greedy_cents": greedy_cents} if self.large else {}
        self.proc = ctx.Process(target=target, args=args, kwargs=kw, daemon=True)
        self.proc.start()
        child.close()

    def required(self, vehicles: int) -> set[int] | None:
        """The counts whose price bounds make the bound of an award of `vehicles` vehicles (None
        until the vehicle bound they follow has arrived)."""
        if self.lp_vbound is None:
            return None
        if self.large:
            return {min(self.greedy_vehicles, self.lp_vbound), self.lp_vbound}
        counts = price_bound_counts(self.greedy_vehicles, self.lp_vbound)
        need = set(counts[:2])
        below = [k for k in counts if k <= vehicles]
        if below:
            need.add(max(below))
        return need

    def complete(self, vehicles: int) -> bool:
        need = self.required(vehicles)
        return need is not None and self.lag_done and need <= self.pbounds.keys()

    def collect(self, timeout: float, vehicles: int) -> bool:
        """Wait up to `timeout` seconds for the bounds an award of `vehicles` vehicles needs,
        then stop the child. False when the clock stopped it first."""
        if self.proc is None:
            return True
        end = time.monotonic() + max(0.0, timeout)
        try:
            while not self.done and not self.complete(vehicles):
                if not self.conn.poll(max(0.0, end - time.monotonic())):
                    break
                msg = self.conn.recv()
                if msg[0] == "v":
                    self.vbound = self.lp_vbound = msg[1]
                elif msg[0] == "L":
                    self.lag_price = msg[1]
                elif msg[0] == "V":
                    self.lag_done = True
                    if msg[1] is not None and self.vbound is not None:
                        self.vbound = min(self.vbound, msg[1])
                elif msg[0] == "p":
                    self.pbounds[msg[1]] = msg[2]
                    self.slopes[msg[1]] = (msg[3], msg[4])
                elif msg[0] == "work":  # an LP stopped on its work limit: the same on every machine
                    self.capped = True
                    break
                else:  # "time": the child's deadline stopped an LP
                    break
        except (EOFError, OSError):  # the child is done
            self.done = True
        finally:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
            self.conn.close()
        return self.done or self.capped or self.complete(vehicles)

    def price_bound(self, vehicles: int) -> int | None:
        """The bound on the price of any award with at least `vehicles` vehicles: the best of the
        required counts' LP bounds carried to `vehicles` along their tangents, and the Lagrangian's
        (solver.award.lagrange) when higher. When the clock stopped the child first (collect said
        so), the best of whatever arrived."""
        from solver.award.lpbound import tangent_bound

        need = self.required(vehicles) if self.complete(vehicles) else None
        bound: int | None = None
        for k, b in self.pbounds.items():
            if b is None or (need is not None and k not in need):
                continue
            down, up = self.slopes.get(k, (0.0, 0.0))
            if vehicles < k and up <= 0:
                continue  # no slope to carry it down with
            t = tangent_bound(b, down if vehicles >= k else up, k, vehicles)
            bound = t if bound is None else max(bound, t)
        if self.lag_price is not None:
            base, pi = self.lag_price
            bound = max(bound or 0, base + pi * vehicles)
        return bound


def _send_price(conn: Any, lp: Any, k: int, deadline: float) -> tuple[bool, int | None]:
    """The LP's price bound for k vehicles, sent as ("p", ...): (False, None) when the deadline
    stopped it, else (True, the bound or None)."""
    pb = lp.price_bound(k, deadline - time.monotonic())
    if pb is None and _stopped(conn, lp, deadline):
        return False, None
    conn.send(("p", k, pb, lp.slope, lp.slope_up))
    return True, pb


def _stopped(conn: Any, lp: Any, deadline: float) -> bool:
    """After an LP without an answer: ("work",) when its work limit stopped it (the same on
    every machine), ("time",) when the deadline did; False when neither (e.g. infeasible)."""
    if lp.capped:
        conn.send(("work",))
        return True
    if time.monotonic() >= deadline - 0.1:
        conn.send(("time",))
        return True
    return False


def _large_child(
    inst: Instance,
    prep: Prepared,
    greedy_vehicles: int,
    cheap_vehicles: int,
    deadline: float,
    conn: Any,
    greedy_cents: int | None = None,
) -> None:
    """The large plan: the price LP at the greedy's count, then ("v", top) and the price LP at the
    top count: the cheap vehicle bound when the LP holds it, else the LP's own vehicle bound."""
    from solver.award.lpbound import LpModel

    try:
        lp = LpModel(inst, prep)
        lp.max_work = LARGE_PLAN_WORK
        pb = lp.price_bound(greedy_vehicles, deadline - time.monotonic())
        if pb is None and lp.capped:  # GLOP did not finish: a bound from PDLP's approximate duals
            approx = _send_approx(conn, lp, greedy_vehicles, max(greedy_vehicles, cheap_vehicles))
            if approx is not None:
                greedy = None if greedy_cents is None else (greedy_vehicles, greedy_cents)
                _send_lagrangian(conn, inst, prep, lp, deadline, approx, greedy)
            return
        if pb is None and _stopped(conn, lp, deadline):
            return
        conn.send(("p", greedy_vehicles, pb, lp.slope, lp.slope_up))
        lp.max_work = LARGE_PLAN_WORK_AFTER
        top = cheap_vehicles
        if top > greedy_vehicles:
            pb = lp.price_bound(top, deadline - time.monotonic())
            if pb is None and lp.infeasible:  # the LP holds fewer vehicles than the cheap bound
                vb = lp.vehicle_bound(deadline - time.monotonic())
                if vb is None:
                    conn.send(("work",) if lp.capped else ("time",))
                    return
                top = max(greedy_vehicles, vb)
                conn.send(("v", top))
                pb = None  # the last LP is the vehicle LP: its duals are no price LP's
                if top > greedy_vehicles:
                    sent, pb = _send_price(conn, lp, top, deadline)
                    if not sent:
                        return
            else:
                if pb is None and _stopped(conn, lp, deadline):
                    return
                conn.send(("v", top))
                conn.send(("p", top, pb, lp.slope, lp.slope_up))
        else:
            conn.send(("v", greedy_vehicles))
        _send_lagrangian(conn, inst, prep, lp if pb is not None else None, deadline)
    except Exception:  # a bound is a bonus: the award never depends on it
        pass
    finally:
        conn.close()


def _send_lagrangian(
    conn: Any,
    inst: Instance,
    prep: Prepared,
    lp: Any,
    deadline: float,
    duals: Any = None,
    greedy: tuple[int, int] | None = None,
) -> None:
    """The large plan's Lagrangian price bound from the last (price) LP's duals after
    large_plan_steps(lots) subgradient steps, or from `duals` (PDLP's, dualbound.ApproxDuals) after
    approx_plan_steps(pass_size), Polyak's steps towards an award's (`greedy`: vehicles, cents):
    ("L", (base, pi) or None), then ("V", None) (no Lagrangian vehicle bound in this plan);
    ("time",) instead when the deadline stopped it."""
    from solver.award import lagrange, polyak

    base = None
    parts = lagrange.lot_parts(inst, prep)
    steps = large_plan_steps(len(parts)) if duals is None else approx_plan_steps(lagrange.pass_size(inst, parts))
    if lp is not None and steps is not None:
        mult = lagrange.from_lp(inst, prep, lp, "price", duals)
        base = polyak.toward_award(inst, prep, mult, greedy, deadline=deadline, steps=steps)
        if base is None and time.monotonic() >= deadline - 0.1:
            conn.send(("time",))
            return
    conn.send(("L", None if base is None else (base, mult.pi)))
    conn.send(("V", None))


def _send_approx(conn: Any, lp: Any, greedy_vehicles: int, top: int) -> Any:
    """The large plan's bounds when its first price LP stopped on its work limit: PDLP's duals of
    the price LP for `top` vehicles (APPROX_ITERATIONS iterations) make one proven bound linear in
    the count (lpbound.ApproxDuals.bound), sent for the greedy's count and `top` as the price
    LPs' would be. The duals (the Lagrangian starts from them), or ("work",) and None."""
    duals = lp.approx_duals(top, APPROX_ITERATIONS)
    b = None if duals is None else duals.bound()
    if b is None:
        conn.send(("work",))
        return None
    slope = b.per_vehicle
    conn.send(("p", greedy_vehicles, b.at(greedy_vehicles), slope, slope))
    conn.send(("v", top))
    if top > greedy_vehicles:
        conn.send(("p", top, b.at(top), slope, slope))
    return duals


def _full_child(
    inst: Instance, prep: Prepared, greedy_vehicles: int, cheap_vehicles: int, deadline: float, conn: Any
) -> None:
    """The full plan: ("v", LP vehicle bound), then ("p", ...) for each count of
    price_bound_counts; after the first two counts the Lagrangian bounds (solver.award.lagrange)
    from the LPs' duals: ("L", (base, pi) or None), valid for every count V as base + pi x V, and
    ("V", vehicle bound or None). The cheap LPs come first so that a loaded machine still gets them."""
    from solver.award import lagrange, polyak
    from solver.award.lpbound import LpModel

    try:
        lp = LpModel(inst, prep)
        vb = lp.vehicle_bound(deadline - time.monotonic())
        if vb is None:
            if time.monotonic() >= deadline - 0.1:
                conn.send(("time",))
            return
        vehicle_mult = lagrange.from_lp(inst, prep, lp, "vehicles")
        conn.send(("v", vb))
        price_mult = None
        counts = price_bound_counts(greedy_vehicles, vb)
        for i, k in enumerate(counts):
            sent, pb = _send_price(conn, lp, k, deadline)
            if not sent:
                break
            if i == 0 and pb is not None:
                price_mult = lagrange.from_lp(inst, prep, lp, "price")
            if i == min(1, len(counts) - 1):
                # the top count's multipliers, then many longer steps (solver.award.polyak)
                base = (
                    None if price_mult is None else polyak.improved_bound(inst, prep, price_mult, vb, deadline=deadline)
                )
                conn.send(("L", None if price_mult is None or base is None else (base, price_mult.pi)))
                base = lagrange.lower_bound(inst, prep, vehicle_mult, deadline=deadline)
                conn.send(("V", None if base is None else lagrange.vehicles_bound(base)))
    except Exception:  # a bound is a bonus: the award never depends on it
        pass
    finally:
        conn.close()

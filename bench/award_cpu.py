"""CPU of the default award per family and size, against its wall budget (issue 17, work calibration):
python -m bench.award_cpu [--sizes 2000,10000] [--families a,b] [--seeds 1] [--solver-path DIR] [--clock 5]
python -m bench.award_cpu --lp [--sizes 2000] [--families a,b] [--solver-path DIR]

The award is reproducible by default only when its work limits, not the clock, end it: on a quiet
2-core machine the main process (search) and the LP child (bounds) each run on a core, so both
must fit the budget with a margin. Each round (bench.award_families' families and shapes) runs in a
fresh child process through solver.award with its defaults but a clock `--clock` times the
benchmark's budget, so that the work limits end it even on a loaded machine; the row gives the CPU
seconds of the main process (time.process_time) and of the LP child (its rusage), each as a share
of the budget (target: <= 0.75, so >= 25 % of the clock is left), what ended the search, and the
result. `--solver-path` runs another checkout's solver (e.g. main's, for old vs new side by side).
CPU seconds, unlike wall seconds, barely depend on what else runs on the machine.

`--lp` profiles the LP child's plan instead (solver.award.lpchild, in one process, without a
clock): CPU seconds of each step, and of the steps the award's bound requires (full plan: the
vehicle LP, the price LPs at the first two counts and both Lagrangian passes; large plan: both
price LPs, or PDLP's bound when the first LP stops on its work, and the Lagrangian after them),
which must fit 0.75 of the budget; for the large plan also its price bounds at the top count: the
LP's (or PDLP's) and the Lagrangian's best after 0, 5, 10, ... subgradient steps, with the CPU
seconds they took (how many steps the CPU pays for).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Share of the wall budget each process may use (the rest is the margin the issue asks for).
MAX_SHARE = 0.75


def _run(fam: str, size: int, seed: int, clock: float) -> dict[str, Any]:
    import resource

    from bench.award import BUDGET
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver.award import award
    from solver.money import to_cents

    n_lots, n_oems, kw = FAMILIES[fam][size]
    doc = make_round(n_lots, n_oems, size, seed=seed, **kw)
    budget = BUDGET[size]
    c0, t0 = time.process_time(), time.monotonic()
    result = award(doc, time_limit=clock * budget)
    cpu, wall = time.process_time() - c0, time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = result["stats"]
    cents, bound = to_cents(result["total_price"]), to_cents(stats["bound_price"])
    return {
        "budget": budget,
        "cpu": cpu,
        "lp_cpu": ru.ru_utime + ru.ru_stime,
        "wall": wall,
        "work_limit": stats.get("limits", {}).get("work_limit"),
        "stopped_by": stats.get("limits", {}).get("stopped_by"),
        "vehicles": result["awarded_quantity"],
        "bound_vehicles": stats["bound_quantity"],
        "gap": 100.0 * (cents - bound) / cents if cents else None,
    }


def _lp_run(fam: str, size: int, seed: int) -> dict[str, Any]:
    """The LP child's plan step by step, in this process: CPU seconds per step."""
    from bench.award import BUDGET
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver.award import lagrange
    from solver.award.bounds import vehicle_bound
    from solver.award.cpsat import model_size
    from solver.award.greedy import starts
    from solver.award.instance import parse
    from solver.award.lpbound import LpModel
    from solver.award.lpchild import FULL_PLAN_VARS, price_bound_counts
    from solver.award.prep import prepare
    from solver.award.solution import objective

    n_lots, n_oems, kw = FAMILIES[fam][size]
    inst = parse(make_round(n_lots, n_oems, size, seed=seed, **kw))
    prep = prepare(inst)
    greedy, greedy_cents = objective(inst, starts(inst, prep)[0])
    cheap = max(greedy, vehicle_bound(inst, prep))
    steps: list[tuple[str, float, bool]] = []  # (step, CPU s, required)
    bounds: dict[Any, Any] = {}  # per count, its price bound (cents); "L": the Lagrangian's trace
    far = time.monotonic() + 3600

    def step(name: str, required: bool, f: Any) -> Any:
        c0 = time.process_time()
        out = f()
        steps.append((name, time.process_time() - c0, required))
        return out

    lp = step("build", True, lambda: LpModel(inst, prep))

    def _lagrangian(step: Any, n: int, mult: Any, top: int, bounds: dict[Any, Any], **kw: Any) -> None:
        """The Lagrangian's n subgradient steps from `mult` as a step, with its trace: after each
        pass (CPU s since its start, the best bound so far at the top count)."""
        trace: list[tuple[float, int]] = []
        run_pass = lagrange._pass
        c0 = time.process_time()

        def traced(*a: Any, **k: Any) -> Any:
            out = run_pass(*a, **k)
            if out is not None:
                best = max([out[0] + mult.pi * top, *(b for _, b in trace[-1:])])
                trace.append((time.process_time() - c0, best))
            return out

        lagrange._pass = traced
        try:
            try:  # as the child: from PDLP's duals polyak's steps towards the greedy's award, where the solver has them
                from solver.award.polyak import toward_award

                award = (greedy, greedy_cents) if "target" in kw else None
            except ImportError:
                toward_award = None
            if toward_award is not None and award is not None:
                run = lambda: toward_award(inst, prep, mult, award, deadline=far, steps=n)  # noqa: E731
            else:
                run = lambda: lagrange.improved_bound(inst, prep, mult, deadline=far, steps=n, **kw)  # noqa: E731
            step(f"Lagrangian price ({n} steps)", True, run)
        finally:
            lagrange._pass = run_pass
        bounds["L"] = trace

    if model_size(inst, prep) > FULL_PLAN_VARS:
        # the plan's deterministic work limits, when the solver has them (lpchild.LARGE_PLAN_WORK)
        from solver.award import lpchild

        lp.max_work = getattr(lpchild, "LARGE_PLAN_WORK", None)
        lots = len(lagrange.lot_parts(inst, prep))
        top = max(greedy, cheap)
        pb = step(f"price LP {greedy}", True, lambda: lp.price_bound(greedy, 3600))
        if pb is not None:
            bounds[greedy] = pb
        if getattr(lp, "capped", False):
            steps[-1] = (steps[-1][0] + " (stopped on work)", *steps[-1][1:])
            iterations = getattr(lpchild, "APPROX_ITERATIONS", None)
            if iterations is not None:  # the bound from PDLP's approximate duals instead
                # PDLP's duals: lpbound.ApproxDuals where the solver has them, else lp answers with them
                if hasattr(lp, "approx_duals"):

                    def pdlp() -> tuple[Any, Any]:
                        approx = lp.approx_duals(top, iterations)
                        return approx, None if approx is None else approx.bound()

                    approx, b = step(f"PDLP bound {top}", True, pdlp)
                    from_pdlp = {"duals": approx}
                else:
                    b = step(f"PDLP bound {top}", True, lambda: lp.approx_price_bound(top, iterations))
                    from_pdlp = {}
                if b is not None:
                    bounds[top] = b.at(top)
                    # as the LP child: the Lagrangian from PDLP's duals (lpchild._send_lagrangian)
                    plan = getattr(lpchild, "approx_plan_steps", None)
                    if hasattr(lagrange, "pass_size"):  # a count of the lots' sources
                        lag_steps = lpchild.approx_plan_steps(lagrange.pass_size(inst, lagrange.lot_parts(inst, prep)))
                    elif plan is not None:
                        lag_steps = plan(lots)
                    else:
                        lag_steps = lpchild.large_plan_steps(lots)
                        most = getattr(lpchild, "APPROX_STEPS", None)
                        lag_steps = None if lag_steps is None or most is None else min(lag_steps, most)
                    if lag_steps is not None:
                        mult = lagrange.from_lp(inst, prep, lp, "price", **from_pdlp)
                        # as the child: Polyak's steps towards the greedy's award, when the solver has them
                        polyak = "target" in inspect.signature(lagrange.improved_bound).parameters
                        kw = {"target": greedy_cents - mult.pi * greedy} if polyak else {}
                        _lagrangian(step, lag_steps, mult, top, bounds, **kw)
            return {"budget": BUDGET[size], "steps": steps, "top": top, "bounds": bounds}
        lp.max_work = getattr(lpchild, "LARGE_PLAN_WORK_AFTER", None)
        priced = True  # the last LP is a price LP with duals (the Lagrangian starts from them)
        if cheap > greedy:
            pb = step(f"price LP {cheap}", True, lambda: lp.price_bound(cheap, 3600))
            if pb is not None:
                bounds[cheap] = pb
            else:
                priced = False
                if not getattr(lp, "capped", False):
                    vb = step("vehicle LP", True, lambda: lp.vehicle_bound(3600))
                    if vb is not None and vb > greedy and not getattr(lp, "capped", False):
                        top = vb
                        pb = step(f"price LP {vb}", True, lambda: lp.price_bound(vb, 3600))
                        priced = pb is not None
                        if pb is not None:
                            bounds[vb] = pb
                if getattr(lp, "capped", False):
                    steps[-1] = (steps[-1][0] + " (stopped on work)", *steps[-1][1:])
                    priced = False
        plan_steps = getattr(lpchild, "large_plan_steps", None)
        lag_steps = None if plan_steps is None else plan_steps(lots)
        if priced and lag_steps is not None:  # as the LP child: the Lagrangian after the top price LP
            _lagrangian(step, lag_steps, lagrange.from_lp(inst, prep, lp, "price"), top, bounds)
        return {"budget": BUDGET[size], "steps": steps, "top": top, "bounds": bounds}
    else:
        vb = step("vehicle LP", True, lambda: lp.vehicle_bound(3600))
        vm = lagrange.from_lp(inst, prep, lp, "vehicles")
        counts = price_bound_counts(greedy, vb)
        for i, k in enumerate(counts[:4]):
            step(f"price LP {k}", i < 2, lambda k=k: lp.price_bound(k, 3600))
            if i == 0:
                pm = lagrange.from_lp(inst, prep, lp, "price")
            if i == min(1, len(counts) - 1):
                # as the LP child: the LP's multipliers and subgradient steps (lower_bound before them)
                lag = getattr(lagrange, "improved_bound", lagrange.lower_bound)
                try:  # the Polyak-like steps after lagrange's (solver.award.polyak), where the solver has them
                    from solver.award import polyak

                    lag = functools.partial(polyak.improved_bound, at=counts[0])
                except ImportError:
                    pass
                step("Lagrangian price", True, lambda m=pm, f=lag: f(inst, prep, m, deadline=far))
                step("Lagrangian vehicles", True, lambda: lagrange.lower_bound(inst, prep, vm, deadline=far))
    return {"budget": BUDGET[size], "steps": steps}


def _lp_row(label: str, fam: str, size: int, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {label} | {fam} | {size} | error: {r['error']} | | |"
    need = sum(c for _, c, req in r["steps"] if req)
    detail = ", ".join(f"{n} {c:.1f}" for n, c, _ in r["steps"])
    ok = need <= MAX_SHARE * r["budget"]
    return (
        f"| {label} | {fam} | {size} | {detail} | {need:.1f} ({need / r['budget']:.2f}) | {'met' if ok else 'NOT MET'}"
        f" | {_bounds_cell(r)} |"
    )


def _bounds_cell(r: dict[str, Any]) -> str:
    """The large plan's price bounds at its top count (cents): the LP's or PDLP's, then the
    Lagrangian's best after 0, 5, 10, 20, ... subgradient steps (CPU s of the Lagrangian so far)."""
    if "top" not in r:
        return "-"
    top, bounds = r["top"], r["bounds"]
    out = [f"top {top:,}"]
    lp = bounds.get(str(top), bounds.get(top))
    if lp is not None:
        out.append(f"LP/PDLP {lp:,}")
    trace = bounds.get("L") or []
    for k in sorted({0, 5, 10, 15, 20, 30, 40, 50, 60, len(trace) - 1}):
        if 0 <= k < len(trace):
            cpu, best = trace[k]
            out.append(f"{k} steps {best:,} ({cpu:.1f} s)")
    return "; ".join(out)


def _child(fam: str, size: int, seed: int, clock: float, solver_path: str | None, lp: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.award_cpu", "--lp-child" if lp else "--child", fam, str(size), str(seed)]
    cmd += [] if lp else [str(clock)]
    env = dict(os.environ)
    if solver_path:
        env["AWARD_CPU_SOLVER_PATH"] = solver_path
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _row(label: str, fam: str, size: int, seed: int, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {label} | {fam} | {size} | {seed} | error: {r['error']} | | | | | | |"
    b = r["budget"]
    ok = r["cpu"] <= MAX_SHARE * b and r["lp_cpu"] <= MAX_SHARE * b and r["stopped_by"] != "time"
    gap = "-" if r["gap"] is None else f"{r['gap']:.3f} %"
    return (
        f"| {label} | {fam} | {size} | {seed} | {r['work_limit']:.2f} | {r['cpu']:.1f} ({r['cpu'] / b:.2f})"
        f" | {r['lp_cpu']:.1f} ({r['lp_cpu'] / b:.2f}) | {r['stopped_by']} | {r['vehicles']} / {r['bound_vehicles']}"
        f" | {gap} | {'met' if ok else 'NOT MET'} |"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        path = os.environ.get("AWARD_CPU_SOLVER_PATH")
        if path:
            sys.path.insert(0, path)
        fam, size, seed, clock = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
        print(json.dumps(_run(fam, size, seed, clock)))
        return 0
    if argv[:1] == ["--lp-child"]:
        path = os.environ.get("AWARD_CPU_SOLVER_PATH")
        if path:
            sys.path.insert(0, path)
        print(json.dumps(_lp_run(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    from bench.award_families import FAMILIES

    parser = argparse.ArgumentParser(prog="python -m bench.award_cpu")
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--clock", type=float, default=5.0, help="the award's clock, times the budget")
    parser.add_argument("--solver-path", default=None, help="another checkout whose solver/ to run")
    parser.add_argument("--label", default="new")
    parser.add_argument("--lp", action="store_true", help="profile the LP child's plan step by step")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    families = [f for f in args.families.split(",") if f]
    if args.lp:
        print(
            "| code | family | bids | CPU s per step | CPU s required (of budget) | <= 0.75 of the budget"
            " | large plan: price bounds at the top count, cents |"
        )
        print("|---|---|---|---|---|---|---|", flush=True)
        for size in sizes:
            for fam in families:
                r = _child(fam, size, int(args.seeds.split(",")[0]), 0.0, args.solver_path, lp=True)
                print(_lp_row(args.label, fam, size, r), flush=True)
        return 0
    print(
        "| code | family | bids | seed | work limit | CPU s main (of budget) | CPU s LP child (of budget)"
        " | ended by | vehicles / bound | price gap | <= 0.75 of the budget, by work |",
        flush=True,
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for size in [int(s) for s in args.sizes.split(",") if s]:
        for fam in [f for f in args.families.split(",") if f]:
            for seed in [int(s) for s in args.seeds.split(",") if s]:
                r = _child(fam, size, seed, args.clock, args.solver_path)
                print(_row(args.label, fam, size, seed, r), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

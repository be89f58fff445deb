"""More vehicles on large rounds (solver.award.vehicles) measured beside the award without it:
python -m bench.award_vehicles [--sizes 2000] [--families few-suppliers] [--seeds 1,2,3] [--time-limit S]
python -m bench.award_vehicles --ceiling [--sizes 2000] [--seeds 1] [--work 30]

Each round is awarded twice in this one process with its default work (backups left out): with
the search in the short lots first (VEHICLE_SHARE, the default) and without it (VEHICLE_SHARE =
0, as before). Printed per run: vehicles and their proven bound, price and the certified price
gap, what ended the search, and the main process's CPU seconds (the LP bound runs in a child on
the other core). Compare within a row pair; the work (not the clock) ends both on a quiet
machine, so the awards are the same bytes on any machine.

`--ceiling` asks which side of the vehicle gap is short, the search or the bound: it runs the
short-lot search (solver.award.vehicles) for `--work` units, then sweeps windows of consecutive
lots (30 lots every 15, then 40 every 10), each re-solved exactly for the most vehicles with the
rest of the award fixed, until a sweep gains nothing. Every window proven without gain makes
the award a local maximum for those windows: an estimate of the true maximum from below, beside
the bounds from above (the cheap per-lot bound, the vehicle LP, and the Lagrangian from the
LP's duals that the award reports).
"""

from __future__ import annotations

import argparse
import importlib
import time
from typing import Any


def _run(doc: dict[str, Any], share: float, time_limit: float) -> dict[str, Any]:
    award_mod = importlib.import_module("solver.award")  # the module (solver.award is also the function)
    old = award_mod.VEHICLE_SHARE
    award_mod.VEHICLE_SHARE = share
    try:
        t = time.process_time()
        out = award_mod.award(doc, time_limit=time_limit, backups=False)
        cpu = time.process_time() - t
    finally:
        award_mod.VEHICLE_SHARE = old
    st = out["stats"]
    price = float(out["total_price"])
    bound = float(st["bound_price"]) if st.get("bound_price") is not None else None
    return {
        "vehicles": out["awarded_quantity"],
        "vbound": st["bound_quantity"],
        "price": price,
        "gap": None if not price or bound is None else 100 * (price - bound) / price,
        "stopped_by": st["limits"]["stopped_by"],
        "work": st["limits"]["work_limit"],
        "cpu": cpu,
    }


def window_sweep(inst: Any, sol: Any, *, width: int, step: int, sub_work: float) -> tuple[Any, int, int]:
    """One sweep of `width` consecutive lots every `step` lots over `sol`: each window re-solved
    for the most vehicles (then kept only when the whole award gains), as a solver.award.lns
    sub-round (packages reaching outside stay awarded). Returns the award and the windows and
    how many of them were proven (no more vehicles there)."""
    from solver.award.cpsat import AwardModel
    from solver.award.lns import _merge, _sub_instance
    from solver.award.prep import prepare
    from solver.award.solution import objective

    best = objective(inst, sol)
    windows = proven = 0
    for a in range(0, max(1, len(inst.lots) - width + step), step):
        sub = _sub_instance(inst, sol, list(range(a, min(len(inst.lots), a + width))))
        model = AwardModel(sub.inst, prepare(sub.inst))
        for p in model.families.packages:
            if p.opt.package in sub.forced:
                model.model.add(p.chosen == 1)
        v0 = objective(sub.inst, sub.cur)[0]
        model.model.add(model.vehicles >= v0)
        model.hint(sub.cur)
        r = model.solve_phase(objective="vehicles", time_limit=3600, work_limit=sub_work, workers=1)
        windows += 1
        proven += r.optimal
        if r.solution is not None and objective(sub.inst, r.solution)[0] > v0:
            new = _merge(inst, sol, sub, r.solution)
            if objective(inst, new)[0] > best[0]:
                sol, best = new, objective(inst, new)
    return sol, windows, proven


def ceiling(doc: dict[str, Any], work: float, sweeps: int = 6) -> dict[str, Any]:
    """The vehicles the search reaches, the most the window sweeps reach from there, and the bounds."""
    from solver.award import lagrange
    from solver.award.bounds import vehicle_bound
    from solver.award.greedy import starts
    from solver.award.instance import parse
    from solver.award.lpbound import LpModel
    from solver.award.prep import prepare
    from solver.award.solution import objective
    from solver.award.vehicles import more_vehicles

    inst = parse(doc)
    prep = prepare(inst)
    out: dict[str, Any] = {"cheap": vehicle_bound(inst, prep)}
    lp = LpModel(inst, prep)
    out["lp"] = lp.vehicle_bound(3600)
    mult = lagrange.from_lp(inst, prep, lp, "vehicles")
    base = lagrange.lower_bound(inst, prep, mult, deadline=time.monotonic() + 3600)
    out["lagrange"] = None if base is None else lagrange.vehicles_bound(base)
    start = max(starts(inst, prep), key=lambda s: (objective(inst, s)[0], -objective(inst, s)[1]))
    t = time.process_time()
    sol, spent, _ = more_vehicles(inst, prep, start, deadline=time.monotonic() + 3600, work_limit=work)
    out["search"] = (objective(inst, start)[0], objective(inst, sol)[0], spent, time.process_time() - t)
    rows = []
    for width, step in ((30, 15), (40, 10)):
        for _ in range(sweeps):
            v = objective(inst, sol)[0]
            t = time.process_time()
            sol, windows, proven = window_sweep(inst, sol, width=width, step=step, sub_work=3.0)
            rows.append((width, step, objective(inst, sol)[0], windows, proven, time.process_time() - t))
            if objective(inst, sol)[0] == v:
                break
    out["sweeps"] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import BUDGET, FAMILIES
    from bench.award_instances import make_round

    ap = argparse.ArgumentParser(prog="python -m bench.award_vehicles")
    ap.add_argument("--sizes", default="2000")
    ap.add_argument("--families", default="few-suppliers")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="the clock cap (default: the benchmark's); longer on a busy machine",
    )
    ap.add_argument("--ceiling", action="store_true", help="the search and window sweeps against the bounds")
    ap.add_argument("--work", type=float, default=30.0, help="--ceiling: work of the short-lot search")
    args = ap.parse_args(argv)
    if args.ceiling:
        return _print_ceiling(args)
    print("| family | bids | seed | search | vehicles / bound | price | gap | ended by (work) | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fam in args.families.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            lots, oems, kw = FAMILIES[fam][size]
            for seed in (int(s) for s in args.seeds.split(",")):
                doc = make_round(lots, oems, size, seed=seed, **kw)
                for name, share in (("short lots first", None), ("as before", 0.0)):
                    default = importlib.import_module("solver.award").VEHICLE_SHARE
                    r = _run(doc, default if share is None else share, args.time_limit or BUDGET[size])
                    gap = "-" if r["gap"] is None else f"{r['gap']:.3f} %"
                    print(
                        f"| {fam} | {size} | {seed} | {name} | {r['vehicles']} / {r['vbound']} | {r['price']:,.2f} |"
                        f" {gap} | {r['stopped_by']} ({r['work']:.2f}) | {r['cpu']:.1f} |",
                        flush=True,
                    )
    return 0


def _print_ceiling(args: argparse.Namespace) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round

    for fam in args.families.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            lots, oems, kw = FAMILIES[fam][size]
            for seed in (int(s) for s in args.seeds.split(",")):
                r = ceiling(make_round(lots, oems, size, seed=seed, **kw), args.work)
                v0, v1, spent, cpu = r["search"]
                print(
                    f"{fam} {size} bids seed {seed}: bounds cheap {r['cheap']}, LP {r['lp']}, Lagrangian {r['lagrange']};"
                    f" start {v0}, short-lot search {v1} ({spent:.1f} units, {cpu:.1f} s CPU)",
                    flush=True,
                )
                for width, step, v, windows, proven, cpu in r["sweeps"]:
                    print(f"  windows of {width} lots every {step}: {v} ({proven}/{windows} proven, {cpu:.1f} s CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

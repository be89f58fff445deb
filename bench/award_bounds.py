"""The proven bounds of large rounds, piece by piece: python -m bench.award_bounds [--sizes 2000]
[--families a,b] [--seed 1] [--vehicles V,...] [--plans both|large] [--out FILE]

Per family of bench.award_families, in one process (CPU seconds, so a loaded machine does not
change the comparison): the cheap bounds (solver.award.bounds), the LP's (solver.award.lpbound:
vehicles, then the price at the counts the award's LP child computes first: the vehicle bound
and the greedy's count), the LP's tangent at an award count between them (`--vehicles`, one per
family, e.g. what the award reached), the Lagrangian bounds over lots (solver.award.lagrange)
from the LP's duals, and the large plan of the bounds child (solver.award.lpchild: the price LPs
at the greedy's count and the cheap vehicle bound, carried to V along their tangents; `--plans
large` measures only those). Writes bench/results/award_bounds.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "award_bounds.md"


def measure(doc: dict[str, Any], vehicles: int | None, plans: str = "both") -> dict[str, Any]:
    from solver.award import lagrange
    from solver.award.bounds import price_bound, vehicle_bound
    from solver.award.greedy import greedy
    from solver.award.instance import parse
    from solver.award.lpbound import LpModel, tangent_bound
    from solver.award.lpchild import price_bound_counts
    from solver.award.prep import prepare
    from solver.award.solution import objective

    inst = parse(doc)
    prep = prepare(inst)
    g = objective(inst, greedy(inst, prep))[0]
    r: dict[str, Any] = {"greedy": g, "cheap_v": vehicle_bound(inst, prep)}
    c = time.process_time()

    def lap() -> float:
        nonlocal c
        now = time.process_time()
        out, c = now - c, now
        return out

    lp = LpModel(inst, prep)
    v = vehicles if vehicles is not None else r["cheap_v"]
    # The large plan (solver.award.lpchild): the price LP at the greedy's count, then at the cheap
    # vehicle bound, carried to V along their tangents (up from the greedy's, down from the top).
    pg = lp.price_bound(g, 600)
    up = None if pg is None else tangent_bound(pg, lp.slope, g, v)
    r["t_large_g"] = lap()
    pt = lp.price_bound(r["cheap_v"], 600)
    down = None if pt is None else tangent_bound(pt, lp.slope_up, r["cheap_v"], v)
    r["t_large_top"] = lap()
    r["large_p"] = max((b for b in (up, down) if b is not None), default=None)
    r["large_up"], r["large_down"] = up, down
    r["at"] = v
    if plans == "large":  # e.g. at 10,000 bids, where the full plan's pieces take minutes
        return r
    # The full plan on a fresh LP, as the child runs it: price LPs warm-started from the large
    # plan's basis end at other optimal duals (a degenerate LP), so other Lagrangian multipliers.
    lp = LpModel(inst, prep)
    lap()
    r["lp_v"] = lp.vehicle_bound(600)
    r["t_lp_v"] = lap()
    if r["lp_v"] is None:
        return r
    mv = lagrange.from_lp(inst, prep, lp, "vehicles")
    counts = price_bound_counts(g, r["lp_v"])[:2]
    r["counts"] = {}
    mp = None
    for i, k in enumerate(counts):
        pb = lp.price_bound(k, 600)
        r["counts"][k] = (pb, lp.slope, lap())
        if i == 0 and pb is not None:
            mp = lagrange.from_lp(inst, prep, lp, "price")
    r["at"] = v
    r["cheap_p"] = price_bound(inst, prep, v)
    held = [k for k in counts if k <= v and r["counts"][k][0] is not None]
    if held:
        k = max(held)
        pb, slope, _ = r["counts"][k]
        r["lp_p"], r["lp_k"], r["tangent_p"] = pb, k, tangent_bound(pb, slope, k, v)
    if mp is not None:
        base = lagrange.improved_bound(inst, prep, mp, deadline=time.monotonic() + 3600)
        r["lag_p"] = None if base is None else lagrange.price_for(base, mp, v)
        r["t_lag_p"] = lap()
    base = lagrange.lower_bound(inst, prep, mv, deadline=time.monotonic() + 3600)
    r["lag_v"] = None if base is None else lagrange.vehicles_bound(base)
    r["t_lag_v"] = lap()
    return r


def _m(c: int | None) -> str:
    return "-" if c is None else f"{c / 100:,.2f}"


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round

    parser = argparse.ArgumentParser(prog="python -m bench.award_bounds")
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vehicles", default="", help="per family (in order), the award's vehicles")
    parser.add_argument("--plans", choices=("both", "large"), default="both", help="large: only the large plan's LPs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    award_v = [int(x) for x in args.vehicles.split(",") if x]
    lines = [
        "# Award bounds of large rounds, piece by piece",
        "",
        f"`python -m bench.award_bounds --sizes {args.sizes} --families {args.families} --seed {args.seed}"
        + (" --plans large" if args.plans == "large" else "")
        + (f" --vehicles {args.vehicles}`" if args.vehicles else "`")
        + ". CPU seconds of one process. Price bounds hold for every award with at least `V` vehicles"
        " (the award's count when given, else the cheap vehicle bound); the tangent raises the LP's bound"
        " for the greedy's count to V; the Lagrangian price bound starts from the duals of the LP at the"
        " vehicle bound and takes lagrange.STEPS subgradient steps (lagrange.improved_bound)."
        " Large plan (solver.award.lpchild, above 60,000 allocation variables): the price LPs at the"
        " greedy's count and at the cheap vehicle bound only, carried to V along their tangents (up / down:"
        " the better of the two is the bound).",
        "",
        "| family | bids | V | vehicles: cheap / LP / Lagrangian | price: cheap | LP (count) | LP tangent at V"
        " | Lagrangian at V | large plan at V (up / down) | CPU: LP vehicles / LP prices / Lagrangian price"
        " / vehicles | CPU: large plan (greedy's / top) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in [int(s) for s in args.sizes.split(",") if s]:
        for i, fam in enumerate(families):
            n_lots, n_oems, kw = FAMILIES[fam][size]
            doc = make_round(n_lots, n_oems, size, seed=args.seed, **kw)
            print(f"{fam} {size} ...", file=sys.stderr, flush=True)
            r = measure(doc, award_v[i] if i < len(award_v) else None, args.plans)
            t_p = sum(t for _, _, t in r.get("counts", {}).values())
            lines.append(
                f"| {fam} | {size} | {r.get('at', '-')} | {r['cheap_v']} / {r.get('lp_v', '-')} / {r.get('lag_v', '-')}"
                f" | {_m(r.get('cheap_p'))} | {_m(r.get('lp_p'))} ({r.get('lp_k', '-')}) | {_m(r.get('tangent_p'))}"
                f" | {_m(r.get('lag_p'))} | {_m(r.get('large_p'))} ({_m(r.get('large_up'))} / {_m(r.get('large_down'))})"
                f" | {r.get('t_lp_v', 0):.1f} / {t_p:.1f} / {r.get('t_lag_p', 0):.1f}"
                f" / {r.get('t_lag_v', 0):.1f} s | {r.get('t_large_g', 0):.1f} / {r.get('t_large_top', 0):.1f} s |"
            )
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text("\n".join([*lines, ""]), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

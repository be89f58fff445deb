"""More vehicles on large rounds (solver.award.vehicles) measured beside the award without it:
python -m bench.award_vehicles [--sizes 2000] [--families few-suppliers] [--seeds 1,2,3] [--time-limit S]

Each round is awarded twice in this one process with its default work (backups left out): with
the search in the short lots first (VEHICLE_SHARE, the default) and without it (VEHICLE_SHARE =
0, as before). Printed per run: vehicles and their proven bound, price and the certified price
gap, what ended the search, and the main process's CPU seconds (the LP bound runs in a child on
the other core). Compare within a row pair; the work (not the clock) ends both on a quiet
machine, so the awards are the same bytes on any machine.
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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())

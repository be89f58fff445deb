"""CPU seconds of each step of the award before and after its search, where a short time limit
goes at 25,000 bids (issue 17): reading the JSON, parse, prepare, the constructive start
(plain and regret greedy), writing the output, and the backups once the clock is up.

    python -m bench.award_phases [--size 25000] [--families default,regions] [--seed 1]

One JSON line per family. CPU time, not wall time, so runs on a loaded machine compare; to
compare with older code, run the same command with PYTHONPATH set to a checkout of it. The
rounds are bench.award_families' (cached in bench/results/*.json, ignored by git).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def phases(path: Path) -> dict[str, object]:
    from solver import io
    from solver.award import backups
    from solver.award.greedy import greedy
    from solver.award.instance import parse
    from solver.award.prep import prepare
    from solver.award.solution import objective, to_output

    out: dict[str, object] = {}
    t = time.process_time()

    def lap(name: str) -> None:
        nonlocal t
        now = time.process_time()
        out[name] = round(now - t, 3)
        t = now

    doc = io.load(path)
    lap("load")
    inst = parse(doc)
    lap("parse")
    prep = prepare(inst)
    lap("prepare")
    start = greedy(inst, prep)
    lap("greedy")
    to_output(inst, prep, start, status="FEASIBLE", bound_quantity=0, bound_cents=0, seconds=0, search="greedy")
    lap("to_output")
    kw = {"work_limit": 1.0} if "work_limit" in inspect.signature(backups.compute).parameters else {}
    backups.compute(inst, start, deadline=time.monotonic() - 1, **kw)  # the clock is already up
    lap("backups_past_clock")
    out["start"] = objective(inst, start)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.award_phases")
    ap.add_argument("--size", type=int, default=25000)
    ap.add_argument("--families", default="default,regions,few-suppliers")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver import io

    for fam in args.families.split(","):
        path = ROOT / "bench" / "results" / f"award-{fam}-{args.size}-{args.seed}.json"
        if not path.exists():
            n_lots, n_oems, kw = FAMILIES[fam][args.size]
            path.write_text(io.dumps(make_round(n_lots, n_oems, args.size, seed=args.seed, **kw)), encoding="utf-8")
        print(json.dumps({"family": fam, **phases(path)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

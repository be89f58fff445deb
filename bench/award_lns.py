"""The large-round neighbourhood search side by side with its previous version, at equal work:
python -m bench.award_lns [--size 2000] [--families default,regions] [--work 6] [--seed 1]

Each family's round (bench.award_families) starts from the same greedy award; the search
(solver.award.lns.improve_price) runs on the same deterministic work budget with its
neighbourhood starts drawn uniformly (as before) and weighted by the award's slack
(SLACK_WEIGHTED), one after the other in this process. At equal work the awards are the same
on any machine, so the comparison does not depend on the load; the CPU seconds do.
Writes bench/results/award_lns.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "award_lns.md"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.award_lns")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--families", default="default,regions,arbitrary")
    parser.add_argument("--work", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver.award import lns
    from solver.award.greedy import greedy
    from solver.award.instance import parse
    from solver.award.prep import prepare
    from solver.award.solution import objective

    cmd = (
        f"python -m bench.award_lns --size {args.size} --families {args.families} --work {args.work} --seed {args.seed}"
    )
    out = [
        "# Neighbourhood search at equal work: uniform starts (before) and slack-weighted starts",
        "",
        f"`{cmd}`, load average (1 / 5 / 15 min) at the start: {_load()}. Both runs start from the same"
        " greedy award and spend the same deterministic work, so the awards are the same on any machine;"
        " CPU seconds are of this process under that load. Gain: how much lower the price is than the"
        " greedy start's (vehicles first).",
        "",
        "| family | greedy start | uniform: vehicles, gain, CPU s | slack-weighted: vehicles, gain, CPU s | better |",
        "|---|---|---|---|---|",
    ]
    for fam in args.families.split(","):
        n_lots, n_oems, kw = FAMILIES[fam][args.size]
        inst = parse(make_round(n_lots, n_oems, args.size, seed=args.seed, **kw))
        start = greedy(inst, prepare(inst))
        v0, c0 = objective(inst, start)
        cells = []
        keys = []
        for weighted in (False, True):
            lns.SLACK_WEIGHTED = weighted
            t0 = time.process_time()
            sol, _, _ = lns.improve_price(
                inst, start, deadline=time.monotonic() + 3600, work_limit=args.work, on_improve=lambda s: None
            )
            cpu = time.process_time() - t0
            v, c = objective(inst, sol)
            keys.append((v, -c))
            cells.append(f"{v}, {(c0 - c) / c0 * 100:.3f} %, {cpu:.1f}")
            print(fam, weighted, cells[-1], file=sys.stderr, flush=True)
        lns.SLACK_WEIGHTED = True
        better = "slack-weighted" if keys[1] > keys[0] else "uniform" if keys[0] > keys[1] else "same"
        out.append(f"| {fam} | {v0} | {cells[0]} | {cells[1]} | {better} |")
    out += ["", f"Load average at the end: {_load()}.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

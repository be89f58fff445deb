"""200-bid rounds proven optimal, old code beside new (issue 17):
python -m bench.award_exact --old PATH [--families a,b] [--seed 1]

Each family's 200-bid round (bench.award_families) runs through solver.award with its defaults
(1 worker, default work limits, a 600 s safety cap so the work limits, not the clock, end
every phase) in a fresh child process, once with this checkout and once with the one at PATH
(e.g. `mkdir /tmp/old && git archive main solver | tar -x -C /tmp/old`), one right after the
other so both see the same machine load. It prints a Markdown table: CPU seconds of each child
(less sensitive to the load than wall time, also listed), status, whether the tie-break's
minimum is proven, whether both awards are the same; then the median ratio new / old.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CAP = 600.0
# Run with the checkout under test first on sys.path (python -c puts the working directory there).
CHILD = """
import json, sys, time
from solver import io
from solver.award import award
doc = io.load(sys.argv[1])
w, c = time.monotonic(), time.process_time()
r = award(doc, time_limit=float(sys.argv[2]))
wall, cpu = time.monotonic() - w, time.process_time() - c
print(json.dumps({
    "wall": wall, "cpu": cpu, "status": r["status"],
    "applied": r["stats"]["tie_break"]["applied"],
    "stopped_by": r["stats"]["limits"]["stopped_by"],
    "vehicles": r["awarded_quantity"], "price": r["total_price"],
    "award": io.dumps({k: v for k, v in r.items() if k != "stats"}),
}))
"""


def run(root: Path, path: str, child: str = CHILD) -> dict[str, Any]:
    """`child` (a python -c program printing a JSON line last) on the round at `path`, with the
    checkout at `root` first on sys.path and CAP as the award's safety cap."""
    proc = subprocess.run(
        [sys.executable, "-c", child, path, str(CAP)],
        cwd=root,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=CAP * 3,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver import io

    parser = argparse.ArgumentParser(prog="python -m bench.award_exact")
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        f"`python -m bench.award_exact --old {args.old} --families {args.families} --seed {args.seed}`,"
        f" load average at the start {load}",
        "",
        "| family | old CPU s | new CPU s | new / old | old wall s | new wall s | old status, tie-break proven |"
        " new status, tie-break proven | same vehicles and price | same award |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for fam in [f for f in args.families.split(",") if f]:
            n_lots, n_oems, kw = FAMILIES[fam][200]
            path = Path(tmp) / f"{fam}.json"
            path.write_text(io.dumps(make_round(n_lots, n_oems, 200, seed=args.seed, **kw)), encoding="utf-8")
            old, new = run(args.old, str(path)), run(ROOT, str(path))
            if "error" in old or "error" in new:
                out.append(f"| {fam} | {old.get('error')} | {new.get('error')} |")
                continue
            ratio = new["cpu"] / old["cpu"]
            ratios.append(ratio)
            out.append(
                f"| {fam} | {old['cpu']:.1f} | {new['cpu']:.1f} | {ratio:.2f} | {old['wall']:.1f} | {new['wall']:.1f}"
                f" | {old['status']}, {old['applied']} | {new['status']}, {new['applied']}"
                f" | {(old['vehicles'], old['price']) == (new['vehicles'], new['price'])}"
                f" | {old['award'] == new['award']} |"
            )
            print(out[-1], file=sys.stderr, flush=True)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if ratios:
        out += ["", f"Median CPU ratio new / old: {statistics.median(ratios):.2f}. Load average at the end: {load}."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a fresh process pays before its first award model, old code beside new:
python -m bench.award_import --old PATH [--runs 6]

The marketplace solves each run in a fresh process (marketplace/services/solver_process.py), so
the first CP-SAT model of a process pays the import of OR-Tools' cp_model (solver.cpsat_import).
Each run is a fresh child that builds the award model of the contract's example round once and
reports the CPU and wall seconds of that (the import included), and whether pandas got loaded;
old and new alternate so that both see the same machine load. Prints a Markdown table and the
medians. (Whole 200-bid awards are too noisy under load to resolve this: python -m bench.award_exact.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys, time
from solver.award.cpsat import AwardModel
from solver.award.instance import parse
from solver.award.prep import prepare
sys.path.insert(1, sys.argv[1])
from tests.solver.award_helpers import contract_example
inst = parse(contract_example())
prep = prepare(inst)
c, w = time.process_time(), time.monotonic()
AwardModel(inst, prep)
print(json.dumps({"cpu": time.process_time() - c, "wall": time.monotonic() - w, "pandas": "pandas" in sys.modules}))
"""


def run(root: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT)],
        cwd=root,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.award_import")
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args(argv)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        f"`python -m bench.award_import --old {args.old} --runs {args.runs}`, load average at the start {load}",
        "",
        "| run | old CPU s | new CPU s | old wall s | new wall s | pandas loaded (old, new) |",
        "|---|---|---|---|---|---|",
    ]
    olds, news = [], []
    for i in range(args.runs):
        old, new = run(args.old), run(ROOT)
        olds.append(old)
        news.append(new)
        out.append(
            f"| {i + 1} | {old['cpu']:.3f} | {new['cpu']:.3f} | {old['wall']:.3f} | {new['wall']:.3f}"
            f" | {old['pandas']}, {new['pandas']} |"
        )
    med = {k: (statistics.median(o[k] for o in olds), statistics.median(n[k] for n in news)) for k in ("cpu", "wall")}
    out += [
        "",
        f"Medians: CPU {med['cpu'][0]:.3f} -> {med['cpu'][1]:.3f} s, wall {med['wall'][0]:.3f} -> {med['wall'][1]:.3f} s."
        f" Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

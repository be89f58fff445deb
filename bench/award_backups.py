"""What backup winners add to an award's time: python -m bench.award_backups [--sizes 200,2000] [--seed 1]

Target (issue 20): backups add <= 25 % to an award's time. For each size, on the benchmark's
round (bench.award_instances, the rounds of bench/award.py), side by side in fresh child
processes (so neither warms the other):
- the award without backups (`award(doc, backups=False)`), then, in the same child, the
  backups of that very award alone (`solver.award.backups.of_result`): their share is
  backups / award, both timed on the same process and machine state;
- the award with backups (`award(doc)`), the call a user makes: its total beside the first.
Both awards run on the deterministic work limit (a generous clock, so the work limit ends
them, not the clock): they are the same award, which the module checks. Writes
bench/results/award_backups.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.setup import write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "award_backups.md"
# A clock far above what the default work limits take, so the work limit ends every search.
TIME_LIMIT = 600.0
TARGET_SHARE = 0.25


def run_child(mode: str, path: str) -> dict[str, Any]:
    from solver import io
    from solver.award import award, validate_award
    from solver.award.backups import of_result

    doc = io.load(path)
    if mode == "without":
        t0 = time.monotonic()
        result = award(doc, time_limit=TIME_LIMIT, backups=False)
        t1 = time.monotonic()
        backups = of_result(doc, result, time_limit=TIME_LIMIT)
        t2 = time.monotonic()
        full = dict(result)
        full["backups"] = backups
        return {
            "award_s": t1 - t0,
            "backups_s": t2 - t1,
            "awards": result["awards"],
            "status": result["status"],
            "search": result["stats"]["search"],
            "stopped_by": result["stats"]["limits"]["stopped_by"],
            "count": len(backups),
            "covered": sum(b["covered_quantity"] for b in backups),
            "withdrawn": sum(b["quantity"] for b in backups),
            "valid": validate_award(doc, full) == [],
        }
    t0 = time.monotonic()
    result = award(doc, time_limit=TIME_LIMIT)
    t1 = time.monotonic()
    return {
        "total_s": t1 - t0,
        "awards": result["awards"],
        "backups_stats": result["stats"]["backups"],
        "valid": validate_award(doc, result) == [],
    }


def _child(mode: str, path: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.award_backups", "--child", mode, path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT * 3,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.award_backups")
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(*args.child)))
        return 0

    import os

    from bench.award_instances import SIZES, round_of_size
    from solver import io

    lines = [
        "# Backup winners: what they add to an award's time",
        "",
        f"`python -m bench.award_backups --sizes {args.sizes} --seed {args.seed}` on {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at the start: the machine is shared). The rounds of "
        "`bench/award.py`; solver.award with its defaults (1 worker, the default work limit) and a "
        f"{TIME_LIMIT:.0f} s clock so the work limit, not the clock, ends the search. Child A: the award "
        "with `backups=False`, then the backups of that award alone (`solver.award.backups.of_result`); "
        "child B: the award with backups, as a user calls it. Target: backups add <= 25 % to the award's time.",
        "",
        "| bids | award alone (A) | backups alone (A) | backups / award | award with backups (B) | "
        "backups | proven | vehicles covered / withdrawn | same award | valid | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            path = Path(tmp) / f"round-{size}.json"
            path.write_text(io.dumps(round_of_size(size, seed=args.seed)), encoding="utf-8")
            print(f"size {size}: award, then its backups ...", file=sys.stderr, flush=True)
            a = _child("without", str(path))
            print(f"size {size}: award with backups ...", file=sys.stderr, flush=True)
            b = _child("with", str(path))
            share = a["backups_s"] / a["award_s"]
            met = share <= TARGET_SHARE
            lines.append(
                f"| {SIZES[size][2]} | {a['award_s']:.2f} s ({a['status']}, {a['search']}, stopped by "
                f"{a['stopped_by']}) | {a['backups_s']:.2f} s | {100 * share:.1f} % | {b['total_s']:.2f} s | "
                f"{a['count']} | {b['backups_stats']['proven']} | {a['covered']} / {a['withdrawn']} | "
                f"{a['awards'] == b['awards']} | {a['valid'] and b['valid']} | {'met' if met else 'NOT MET'} |"
            )
    lines.append("")
    write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

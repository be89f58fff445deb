"""The 200-bid award on two cores (solver.award.race / tiebreak), old code beside new, measured so
that the machine's load does not decide (issue 17):

    python -m bench.award_race --old PATH [--families a,b] [--seed 1]

On a shared machine the scheduler gives a process its share whatever its threads, so wall times
there say nothing about two idle cores. Each run (a fresh child process, old then new, the round of
bench.award_families, solver.award with its defaults) reports instead its critical path from
per-thread CPU: the main thread's CPU, plus the time it waited for the tie-break race beyond that
(the winning search's start on the main thread's CPU clock + its own CPU - where the main thread
was when it began to wait), plus, when the backups run on two threads (solver.award.backups_pool),
the CPU of the busier one (the main thread waits meanwhile). On one thread (the old code) that is
the process's CPU. Also listed:
the process's whole CPU (what the second core costs), the wall time under the load of the moment,
and whether the awards are the same bytes (the stats aside). Prepends its table to
bench/results/award_race.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import award_exact

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "award_race.md"
CHILD = """
import hashlib, json, sys, threading, time
from solver import io
from solver.award import award
try:
    from solver.award import race, tiebreak
except ImportError:
    race = None
doc = io.load(sys.argv[1])
main = threading.main_thread()
clock = time.pthread_getcpuclockid(main.ident)
def main_cpu():  # the main thread's CPU, read from any thread
    return time.clock_gettime(clock)
runs, marks = [], {}
if race is not None:
    init = race.Search.__init__
    def wrapped_init(self, search, done=None):
        rec = {"start": main_cpu()}  # created on another thread too (the early search's)
        def run(stop):
            t = time.thread_time()
            r = search(stop)
            rec["cpu"], rec["result"] = time.thread_time() - t, r
            return r
        runs.append(rec)
        init(self, run, done)
    race.Search.__init__ = wrapped_init
    real_run = tiebreak.run
    def timed_run(make, work_limit, early):
        marks["before"] = main_cpu()
        r = real_run(make, work_limit, early)
        marks["after"], marks["winner"] = main_cpu(), r
        return r
    tiebreak.run = timed_run
# the backups on their pool's threads (solver.award.backups_pool): the busiest thread's CPU is
# their critical path (the main thread waits meanwhile); one after the other they count in main_cpu
pool_cpu = {}
try:
    from solver.award import backups
    one = backups._one
    def timed_one(*args, **kw):
        t = time.thread_time()
        try:
            return one(*args, **kw)
        finally:
            if threading.current_thread() is not main:
                name = threading.current_thread().name
                pool_cpu[name] = pool_cpu.get(name, 0.0) + time.thread_time() - t
    backups._one = timed_one
except (ImportError, AttributeError):
    pass
w, c, t = time.monotonic(), time.process_time(), main_cpu()
r = award(doc, time_limit=float(sys.argv[2]))
wall, cpu = time.monotonic() - w, time.process_time() - c
crit = main_cpu() - t
wait = 0.0
win = [x for x in runs if "winner" in marks and x.get("result") is marks["winner"]]
if win:
    wait = max(0.0, win[0]["start"] + win[0]["cpu"] - marks["before"] - (marks["after"] - marks["before"]))
print(json.dumps({
    "wall": wall, "cpu": cpu, "crit": (crit + wait + max(pool_cpu.values(), default=0.0)) if race is not None else cpu,
    "status": r["status"], "applied": r["stats"]["tie_break"]["applied"],
    "award": hashlib.sha256(io.dumps({k: v for k, v in r.items() if k != "stats"}).encode()).hexdigest(),
}))
"""


def run(root: Path, path: str) -> dict[str, Any]:
    return award_exact.run(root, path, CHILD)


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver import io

    parser = argparse.ArgumentParser(prog="python -m bench.award_race")
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = [
        "| family | critical path old -> new (s) | new / old | CPU old -> new (s) | wall old -> new (s) |"
        " status, tie-break proven (old; new) | same award |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for fam in [f for f in args.families.split(",") if f]:
            n_lots, n_oems, kw = FAMILIES[fam][200]
            path = Path(tmp) / f"{fam}.json"
            path.write_text(io.dumps(make_round(n_lots, n_oems, 200, seed=args.seed, **kw)), encoding="utf-8")
            old, new = run(args.old, str(path)), run(ROOT, str(path))
            if "error" in old or "error" in new:
                rows.append(f"| {fam} | {old.get('error')} | {new.get('error')} |")
            else:
                rows.append(
                    f"| {fam} | {old['crit']:.2f} -> {new['crit']:.2f} | {new['crit'] / old['crit']:.2f}"
                    f" | {old['cpu']:.2f} -> {new['cpu']:.2f} | {old['wall']:.1f} -> {new['wall']:.1f}"
                    f" | {old['status']}, {old['applied']}; {new['status']}, {new['applied']}"
                    f" | {old['award'] == new['award']} |"
                )
            print(rows[-1], file=sys.stderr, flush=True)
    end = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = "\n".join(
        [
            f"## {stamp}: `python -m bench.award_race --old {args.old} --families {args.families} --seed {args.seed}`",
            "",
            f"Load average at the start {load}, at the end {end}. Critical path: what two idle cores would take"
            " (module docstring of bench/award_race.py).",
            "",
            *rows,
            "",
        ]
    )
    head = "# The 200-bid award on two cores: critical path, old beside new\n\n"
    old_text = OUT.read_text(encoding="utf-8").removeprefix(head) if OUT.exists() else ""
    OUT.write_text(head + text + "\n" + old_text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

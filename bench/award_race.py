"""The 200-bid award on two cores (solver.award.race / tiebreak), old code beside new, measured so
that the machine's load does not decide (issue 17):

    python -m bench.award_race --old PATH [--families a,b] [--seed 1]

On a shared machine the scheduler gives a process its share whatever its threads, so wall times
there say nothing about two idle cores. Each run (a fresh child process, old then new, the round of
bench.award_families, solver.award with its defaults) reports instead its critical path from
per-thread CPU: the main thread's CPU, plus the time it waited for the tie-break race beyond that
(the winning search's start on the main thread's CPU clock + its own CPU - where the main thread
was when it began to wait). On one thread (the old code) that is the process's CPU. Also listed:
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
runs, marks, state = [], {}, {"primary": None, "acc": 0.0}
def timeline():  # where the critical path is: the main thread's CPU, or while the main thread
    # waits for a race, the primary search's (a search started then, e.g. the early tie-break on the
    # primary's best award, starts there)
    p = state["primary"]
    if p is None or "clock" not in p or threading.current_thread() is main:
        return main_cpu() + state["acc"]  # (acc: the waits so far beyond the main thread's CPU)
    return p["start"] + time.clock_gettime(p["clock"]) - p["t0"]
if race is not None:
    init = race.Search.__init__
    def wrapped_init(self, search, done=None):
        rec = {"start": timeline()}  # created on another thread too (the early search's)
        def run(stop):
            t = time.thread_time()
            rec["clock"], rec["t0"] = time.pthread_getcpuclockid(threading.get_ident()), t
            r = search(stop)
            rec["cpu"], rec["result"] = time.thread_time() - t, r
            return r
        runs.append(rec)
        init(self, run, done)
        rec["search"] = self
    race.Search.__init__ = wrapped_init
    real_wait = race.first_decisive
    def timed_wait(searches):  # every wait of the main thread for searches on other threads
        primary = [x for x in runs if x.get("search") is searches[0][0]]
        state["primary"] = primary[0] if primary else None
        try:
            r = real_wait(searches)
        finally:
            state["primary"] = None
        after = main_cpu() + state["acc"]
        mine = [x for x in runs if any(x.get("search") is s for s, _ in searches) and "cpu" in x]
        win = [x for x in mine if r is not None and x.get("result") is r]
        ends = [x["start"] + x["cpu"] for x in (win or mine)]  # the winner's end, else the last one's
        if ends:
            state["acc"] += max(0.0, (min(ends) if win else max(ends)) - after)
        return r
    race.first_decisive = timed_wait
w, c, t = time.monotonic(), time.process_time(), main_cpu()
r = award(doc, time_limit=float(sys.argv[2]))
wall, cpu = time.monotonic() - w, time.process_time() - c
crit = main_cpu() - t
wait = state["acc"]
print(json.dumps({
    "wall": wall, "cpu": cpu, "crit": (crit + wait) if race is not None else cpu,
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

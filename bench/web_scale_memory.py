"""Memory of an award job at coalition scale: python -m bench.web_scale_memory --database-url URL [--input FILE]

Takes the exact solver input of the largest award scenario in the database (`flask seed-large
--lines 10000 --bids 2000` makes one), or a file, and solves it the two ways a job worker can,
each in a fresh process that first builds the app as a worker does:

- in-process: `solver.award` inside the worker (its LP-bound child is forked from the worker);
- child process: `services.solver_process.solve` (what jobs do now: a spawned solver process).

For each: the peak, over the solve, of the resident memory of the worker and every process below
it (sampled every 50 ms; a forked child's shared pages count in both, as `ps` shows them), the
peak proportional set size (PSS, shared pages split), and the worker's own resident memory after
the solve and a garbage collection: what it keeps while it waits for the next job.
Target (issue 16): under 600 MB including any child, and a worker that gives memory back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 600


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _field(path: str, name: str) -> int:
    """A kB field of /proc/PID/status or smaps_rollup, 0 if the process is gone."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _sample(pid: int) -> tuple[float, float, int]:
    pids = _tree(pid)
    rss = sum(_field(f"/proc/{p}/status", "VmRSS") for p in pids)
    pss = sum(_field(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    return rss / 1024, pss / 1024, len(pids)


def _worker(mode: str, path: str, time_limit: float) -> None:
    """The measured process: builds the app like a job worker, then solves once."""
    import gc

    from marketplace import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    doc = json.loads(Path(path).read_text())
    peak = {"rss": 0.0, "pss": 0.0, "processes": 1}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            rss, pss, n = _sample(os.getpid())
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            peak["processes"] = max(peak["processes"], n)

    before = _sample(os.getpid())[0]
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with app.app_context():
        if mode == "child":
            from marketplace.services import solver_process

            result = solver_process.solve("award", doc, time_limit=time_limit, reporter=lambda p: None)
        else:
            import solver

            result = solver.award(doc, time_limit=time_limit, workers=1)
    seconds = time.monotonic() - started
    done.set()
    watcher.join()
    awarded = result["awarded_quantity"]
    del result, doc
    gc.collect()
    after = _sample(os.getpid())[0]
    print(json.dumps({"mode": mode, "before": before, "peak_rss": peak["rss"], "peak_pss": peak["pss"],
                      "processes": peak["processes"], "after": after, "seconds": seconds, "awarded": awarded}))  # fmt: skip


def _input(url: str, out: Path, scenario_id: int | None) -> tuple[Path, str]:
    os.environ["DATABASE_URL"] = url
    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import AwardScenario

    with create_app().app_context():
        length = sa.func.length(AwardScenario.input_json)
        query = sa.select(AwardScenario).where(AwardScenario.input_json.is_not(None))
        if scenario_id is not None:
            query = query.where(AwardScenario.id == scenario_id)
        scenario = db.session.execute(query.order_by(length.desc(), AwardScenario.id).limit(1)).scalar_one()
        out.write_text(scenario.input_json)
        doc = json.loads(scenario.input_json)
        return out, f"scenario #{scenario.id} “{scenario.name}”: {len(doc['bids'])} bids, {len(doc['lots'])} lots"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--input")
    parser.add_argument("--scenario", type=int, help="this scenario's input (default: the largest)")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--worker", choices=["in-process", "child"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.input, args.time_limit)
        return
    if args.input:
        path, what = Path(args.input), args.input
    else:
        path, what = _input(args.database_url, Path("/tmp") / f"award-memory-{os.getpid()}.json", args.scenario)
    print(f"input: {what}; load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for mode in ("in-process", "child"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.web_scale_memory", "--worker", mode, "--input", str(path),
             "--time-limit", str(args.time_limit)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{mode}: worker {row['before']:.0f} MB before, peak {row['peak_rss']:.0f} MB RSS / {row['peak_pss']:.0f} MB "
            f"PSS over {row['processes']} processes, worker {row['after']:.0f} MB after; {row['seconds']:.1f} s, "
            f"{row['awarded']} vehicles; under {TARGET_MB} MB: {'met' if row['peak_rss'] < TARGET_MB else 'NOT met'}",
            flush=True,
        )


if __name__ == "__main__":
    main()

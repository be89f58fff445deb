"""Demand upload benchmark: python -m bench.demand_upload [--rows 10000] [--repeat 3] [--database-url URL]

Generates a spreadsheet of valid demand lines (XLSX and CSV, seeded), then times what a fleet
waits for: the whole-file check (read, every rule of every row, staging for the preview) and
"Save all" (re-check, one bulk INSERT, one audit entry, one commit). The target of issue 6 is
10,000 rows checked and saved in at most 5 s. Runs on a fresh SQLite file by default (the
embedded default of `make run`); pass --database-url for PostgreSQL (that database is wiped).
Writes bench/results/demand_upload.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 5.0


def rows_for(count: int, segments: list[str], regions: list[str], first_quarter: str, seed: int = 6) -> list[list[Any]]:
    from marketplace.services.demand import FIELDS, quarter_index, quarter_of_index

    rng = random.Random(seed)
    start = quarter_index(first_quarter)
    standards = ["CCS1", "MCS", "NACS", "J3105"]
    out = []
    for i in range(count):
        earliest = start + rng.randrange(0, 6)
        values = {
            "segment": rng.choice(segments),
            "region": rng.choice(regions),
            "quantity": rng.randrange(1, 40),
            "earliest_quarter": quarter_of_index(earliest),
            "latest_quarter": quarter_of_index(earliest + rng.randrange(0, 5)),
            "min_range_km": rng.choice([0, 150, 200, 250, 300]),
            "min_payload_kg": rng.choice([0, 0, 1000, 4000]),
            "charging": ";".join(rng.sample(standards, rng.randrange(1, 3))),
            "max_unit_price": rng.randrange(150_000, 400_000) + rng.choice([0, 0.5, 0.99]),
            "splittable": rng.choice(["yes", "no"]),
            "note": f"bench line {i}" if i % 10 == 0 else "",
        }
        out.append([values[name] for name in FIELDS])
    return out


def xlsx(rows: list[list[Any]]) -> bytes:
    import io

    from openpyxl import Workbook

    from marketplace.services.demand import FIELDS

    # A normal workbook keeps text in shared strings, as Excel and LibreOffice write it.
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Demand lines"
    sheet.append(list(FIELDS))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]]) -> bytes:
    import csv
    import io

    from marketplace.services.demand import FIELDS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per file type; the best counts")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-demand-"))
    os.environ.setdefault("MARKETPLACE_ENV", "test")
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"

    import sqlalchemy as sa

    from bench.setup import bench_app, fresh_database, machine_now, open_round, write_results
    from marketplace.extensions import db
    from marketplace.models import DemandLine
    from marketplace.services import demand_upload
    from marketplace.services.demand import current_quarter, scope_regions

    app = bench_app(url, HUEY_IMMEDIATE=True)
    figures: dict[str, dict[str, Any]] = {}
    with app.app_context():
        coordinator, fleet = fresh_database()
        for kind in ("xlsx", "csv"):
            runs = []
            for attempt in range(args.repeat):  # best of N: other jobs on the machine only ever add time
                rnd = open_round(f"Bench round {kind} {attempt}", coordinator)
                regions = [r.id for r in scope_regions(rnd)]
                rows = rows_for(args.rows, [s.id for s in rnd.segments], regions, current_quarter())
                body = xlsx(rows) if kind == "xlsx" else csv_bytes(rows)
                started = time.perf_counter()
                checked = demand_upload.check_upload(rnd.id, f"bench.{kind}", body, fleet)
                check_s = time.perf_counter() - started
                assert checked.ok, checked.problems[:5]
                assert checked.upload is not None
                started = time.perf_counter()
                saved = demand_upload.save_upload(rnd.id, checked.upload.token, fleet)
                save_s = time.perf_counter() - started
                count = db.session.execute(
                    sa.select(sa.func.count(DemandLine.id)).where(DemandLine.round_id == rnd.id)
                ).scalar_one()
                assert saved.lines == count == args.rows
                runs.append({"mb": len(body) / 1e6, "check": check_s, "save": save_s, "total": check_s + save_s})
                print(f"{kind}: check {check_s:.2f} s, save {save_s:.2f} s", file=sys.stderr)
            best = min(runs, key=lambda r: r["total"])
            figures[kind] = {**best, "all": ", ".join(f"{r['total']:.2f}" for r in runs)}
        dialect = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()

    lines = [
        "# Demand upload benchmark",
        "",
        f"`python -m bench.demand_upload --rows {args.rows} --repeat {args.repeat}` on {dialect} · Python {platform.python_version()} · "
        f"{platform.machine()} · {os.cpu_count()} CPUs",
        "",
        f"{args.rows:,} valid demand lines in one file, checked as a whole (read, every rule of every row, kept for "
        "the preview) and then saved (quarters checked again against the clock, one bulk INSERT, one audit entry, one commit).",
        f"Target (issue 6): check + save <= {TARGET_SECONDS:.0f} s.",
        "",
        machine_now(shared=False),
        "",
        f"Best of {args.repeat} runs per file type (every run's check + save in the last column).",
        "",
        "| file | size | check | save | check + save | target | all runs (s) |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    ok = True
    for kind, f in figures.items():
        total = f["total"]
        met = total <= TARGET_SECONDS
        ok &= met
        lines.append(
            f"| {kind.upper()} | {f['mb']:.1f} MB | {f['check']:.2f} s | {f['save']:.2f} s | **{total:.2f} s** | "
            f"{'met' if met else 'NOT met'} | {f['all']} |"
        )
    write_results("demand_upload.md", lines)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

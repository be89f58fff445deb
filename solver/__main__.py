"""python -m solver pool|award IN.json [-o OUT.json] [--time-limit S] [--work-limit W] [--workers N] [--verbose] [--no-backups]

Exit 0 with a result (on stdout, or in OUT.json); exit 2 on invalid input with one line
per problem on stderr, naming the field by its JSON path, and nothing on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from solver import io
from solver.errors import InvalidInput
from solver.progress import Progress

EXIT_INVALID = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("pool", "pool demand lines into tender lots"), ("award", "award lots to bids")):
        p = sub.add_parser(name, help=what)
        p.add_argument("input", type=Path, help="input JSON document")
        p.add_argument("-o", "--output", type=Path, help="write the result here instead of stdout")
        p.add_argument("--time-limit", type=float, default=60.0, help="wall-clock seconds for the whole call")
        p.add_argument(
            "--work-limit",
            type=float,
            default=None,
            help="deterministic work limit (CP-SAT deterministic time); makes a limited run reproducible",
        )
        p.add_argument("--workers", type=int, default=1, help="search workers (1 is deterministic and fastest here)")
        p.add_argument("--verbose", action="store_true", help="print progress to stderr")
        if name == "award":
            p.add_argument(
                "--no-backups", action="store_true", help="skip the backup winners (as rules.backups: false)"
            )
    return parser


def _print_progress(p: Progress) -> None:
    extra = ""
    if p.price is not None:
        extra = f" price={p.price} bound={p.price_bound}"
    if p.lots is not None:
        extra = f" lots={p.lots}"
    print(f"[{p.elapsed:7.2f}s] {p.phase}: vehicles={p.quantity}/{p.quantity_bound}{extra}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        doc = io.load(args.input)
    except OSError as exc:
        print(f"{args.input}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except io.NotJson as exc:
        print(f"$: not valid JSON: {exc}", file=sys.stderr)
        return EXIT_INVALID

    if args.command == "pool":
        from solver.pooling import pool as solve
    else:
        from solver.award import award as solve

    options = {"backups": False} if getattr(args, "no_backups", False) else {}
    try:
        result = solve(
            doc,
            time_limit=args.time_limit,
            work_limit=args.work_limit,
            workers=args.workers,
            progress=_print_progress if args.verbose else None,
            **options,
        )
    except InvalidInput as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID

    text = io.dumps(result)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Gate: no module in marketplace/ passes 400 lines, except those listed below with a written reason.

A module that holds several concerns becomes a package with one module per concern (services
bidding/, demand/, deposits/). A listed module's ceiling is its size when it was listed: it may
shrink, never grow, and its entry goes when it is under the limit (the gate says so).
Run by `make gates`; prints each module over the limit and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 400
ROOT = Path(__file__).resolve().parent.parent

# path -> (ceiling in lines, why it is longer than the limit for now)
LISTED: dict[str, tuple[int, str]] = {
    "marketplace/services/rounds.py": (
        573,
        "the round's phase machine with its one lock-and-load and effective phase: to split into phases and settings",
    ),
    "marketplace/services/demand_upload.py": (
        711,
        "one pipeline (read the sheet, check every row, save all or nothing): to split into reading and saving",
    ),
    "marketplace/services/values.py": (
        509,
        "the field parsers every form, sheet and API body shares: one small function per kind of value",
    ),
    "marketplace/services/demo.py": (
        483,
        "the demo data set (organizations, a round in every phase), mostly literal rows",
    ),
    "marketplace/services/ocds.py": (452, "the OCDS export's one mapping, release by release, read top to bottom"),
    "marketplace/services/market.py": (404, "the public market pages' read models"),
    "marketplace/coordinator/views.py": (613, "the coordinator's blueprint: one route per page, no rules"),
    "marketplace/notifications/service.py": (825, "the notices of every event, one message builder each"),
}


def lines_of(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def main() -> int:
    problems = []
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        n = lines_of(path)
        ceiling, _ = LISTED.get(name, (LIMIT, ""))
        if n > max(ceiling, LIMIT):
            how = f"its listed ceiling {ceiling}" if name in LISTED else f"the limit of {LIMIT}"
            problems.append(f"{name}: {n} lines, over {how}: split it by concern into a package")
        elif name in LISTED and n <= LIMIT:
            problems.append(f"{name}: {n} lines, now within {LIMIT}: remove its entry from {Path(__file__).name}")
    problems += [f"{name}: listed but missing" for name in LISTED if not (ROOT / name).exists()]
    for p in problems:
        print(p)
    if not problems:
        print(f"module size: every module in marketplace/ is within {LIMIT} lines or listed with a reason")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

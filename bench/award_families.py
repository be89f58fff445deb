"""Award benchmark over instance families beyond the default generator (issue 17):
python -m bench.award_families [--sizes 200,2000,10000,25000] [--families a,b] [--seed 1]

Families (bench.award_instances.make_round's keyword arguments): the default round; CATS-like
"regions" (packages of neighbouring lots on a grid) and "arbitrary" bundles, both
package-heavy (60 % of bids are packages over 2-8 lots); tiers 1-15 % apart; few suppliers
per lot (about 2 bids) and many (about 20); IDR-like prices (x 10^4: unit prices of about
10^11 minor units). Each round runs through solver.award with its defaults and through the
independent HiGHS MIP (tests/solver/award_helpers.highs_award), one after the other in fresh
child processes (bench.award._child), with the same budget; bench/results/award_families.md
lists both side by side with every target met or not.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.award import _child, _money, _table, _targets

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "award_families.md"
BUDGET = {200: 60.0, 2000: 60.0, 10000: 120.0, 25000: 10.0}
HEAVY = {"package_share": 0.6, "package_lots": (2, 8)}
# Lots x OEMs per size: the default shape (bench.award_instances.SIZES), fewer or more bids per lot.
SHAPE = {200: (20, 10), 2000: (100, 30), 10000: (500, 50), 25000: (1000, 80)}
FEW = {200: (60, 6), 2000: (400, 20), 10000: (2000, 40), 25000: (5000, 60)}
MANY = {200: (6, 40), 2000: (40, 80), 10000: (200, 150), 25000: (500, 200)}
_KW: dict[str, tuple[dict[int, tuple[int, int]], dict[str, Any]]] = {
    "default": (SHAPE, {}),
    "regions": (SHAPE, {**HEAVY, "bundles": "regions"}),
    "arbitrary": (SHAPE, {**HEAVY, "bundles": "arbitrary"}),
    "tiers-1-15": (SHAPE, {"tier_step": (0.01, 0.15)}),
    "few-suppliers": (FEW, {}),
    "many-suppliers": (MANY, {}),
    "idr-prices": (SHAPE, {"price_scale": 10_000}),
}
FAMILIES: dict[str, dict[int, tuple[int, int, dict[str, Any]]]] = {
    fam: {size: (*shapes[size], kw) for size in shapes} for fam, (shapes, kw) in _KW.items()
}


def _starts(doc: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """(vehicles, cents) of the plain greedy, the regret greedy and the start the solver uses."""
    from solver.award.greedy import greedy, plain_greedy, regret_greedy
    from solver.award.instance import parse
    from solver.award.prep import prepare
    from solver.award.solution import objective

    inst = parse(doc)
    prep = prepare(inst)
    return tuple(objective(inst, g(inst, prep)) for g in (plain_greedy, regret_greedy, greedy))


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in __import__("os").getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.award_families")
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reference-sizes",
        default="200,2000,10000,25000",
        help="sizes that also run the HiGHS reference (at 10,000 and 25,000 bids it finds almost nothing in its budget)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bench.award_instances import make_round
    from solver import io

    sizes = [int(s) for s in args.sizes.split(",") if s]
    families = [f for f in args.families.split(",") if f]
    reference_sizes = {int(s) for s in args.reference_sizes.split(",") if s}
    lines = [
        "# Award benchmark: instance families",
        "",
        f"`python -m bench.award_families --sizes {args.sizes} --families {args.families} --seed {args.seed}"
        f" --reference-sizes {args.reference_sizes}`"
        f" on {platform.machine()}, {platform.python_implementation()} {platform.python_version()},"
        f" {__import__('os').cpu_count()} cores shared with other work (compare the two columns of a row,"
        " not rows of different runs). solver.award with its defaults (1 worker, default work limits);"
        " the HiGHS MIP reference (1 thread, its own model, no start) with the same budget, run right"
        " after it. Times include reading the JSON. Load average (1 / 5 / 15 min) at the start:"
        f" {_load()}; each round also states it at its end.",
        "",
    ]
    summary: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for fam in families:
                n_lots, n_oems, kw = FAMILIES[fam][size]
                doc = make_round(n_lots, n_oems, size, seed=args.seed, **kw)
                path = Path(tmp) / f"{fam}-{size}.json"
                path.write_text(io.dumps(doc), encoding="utf-8")
                budget = BUDGET[size]
                print(f"{fam} {size}: solver ...", file=sys.stderr, flush=True)
                ours = _child("solver", str(path), budget)
                ref: dict[str, Any] = {}
                if size in reference_sizes:
                    print(f"{fam} {size}: HiGHS ...", file=sys.stderr, flush=True)
                    ref = _child("highs", str(path), budget)
                n_pk = len(doc["packages"])
                lines.append(
                    f"## {fam}, {size} bids: {n_lots} lots x {n_oems} OEMs, {size - n_pk} bids + {n_pk} packages"
                    f" (budget {budget:.0f} s)"
                )
                lines += ["", *_table(ours, ref), ""]
                plain, regret, start = _starts(doc)
                lines.append(
                    f"Constructive start (vehicles, price): plain greedy {plain[0]}, {_money(plain[1])};"
                    f" regret greedy {regret[0]}, {_money(regret[1])}; the solver's start {start[0]},"
                    f" {_money(start[1])}. Load average at the end: {_load()}."
                )
                lines.append("")
                for name, ok in _targets(size, ours, ref, plain):
                    mark = "met" if ok else "NOT MET"
                    lines.append(f"- {name}: **{mark}**")
                    summary.append(f"| {fam} | {size} | {name} | {mark} |")
                lines.append("")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text("\n".join([*lines, "(run in progress)", ""]), encoding="utf-8")
    lines += ["## Targets", "", "| family | bids | target | result |", "|---|---|---|---|", *summary, ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

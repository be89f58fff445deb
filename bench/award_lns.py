"""The large-round neighbourhood search side by side with a variant of it, at equal work:
python -m bench.award_lns [--size 2000] [--families default,regions] [--work 6] [--seeds 1,2]
    [--compare starts|swaps|adaptive|slack|clusters|vehicle-starts|sub-work]

Each family's round (bench.award_families) starts from the same greedy award(s) and the search
(solver.award.lns.improve_price) runs twice on the same deterministic work budget, one after the
other in this process:
- starts (default): from the better greedy start only (as before), then from both greedy starts
  (solver.award.greedy.starts: each searched for lns.TRIAL_SHARE of the work, then the best);
- swaps: the four kinds of neighbourhood in turn (as before), then with package swaps among them
  (lns.SWAPS);
- adaptive: the four kinds in turn, then with package swaps and the kind drawn by its recent
  gain per work (lns.ADAPTIVE);
- slack: neighbourhood starts drawn uniformly, then weighted by the award's slack (SLACK_WEIGHTED);
- clusters: the package kind as one package's lots grown through suppliers, then as a cluster of
  whole packages (lns.CLUSTERS);
- vehicle-starts: as solver.award runs a large round, the search for more vehicles in the short
  lots (lns.served_starts, on award.VEHICLE_SHARE of the work) then the price search on the rest,
  the former on the better greedy start only, then on every start worth a trial
  (lns.VEHICLES_EVERY_START);
- sub-work: as solver.award runs a large round (the search for more vehicles, then the price
  search), each sub-round on at most lns.SUB_WORK, then on at most lns.sub_work (less where the
  search has little work per lot: lns.SCALED_SUB_WORK).
At equal work the awards are the same on any machine, so the comparison does not depend on the
load; the CPU seconds do. Writes bench/results/award_lns.md (or --out).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "award_lns.md"
# lns.ADAPTIVE, SWAPS, SLACK_WEIGHTED, CLUSTERS, VEHICLES_EVERY_START, SCALED_SUB_WORK, as main() finds them
DEFAULTS = (False, False, True, True, True, True)
VARIANTS = {
    "starts": ("better start only", "both starts"),
    "swaps": ("four kinds in turn", "with package swaps"),
    "adaptive": ("four kinds in turn", "adaptive kinds + swaps"),
    "slack": ("uniform starts", "slack-weighted starts"),
    "clusters": ("one package grown", "package clusters"),
    "vehicle-starts": ("vehicles on the better start", "vehicles on every start"),
    "sub-work": ("sub-rounds on SUB_WORK", "sub-rounds on sub_work"),
}
# Variants measured as solver.award runs a large round: the search for more vehicles first.
WITH_VEHICLES = ("vehicle-starts", "sub-work")


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _set(compare: str, after: bool) -> None:
    """The search as before (`after` False) or with the variant `compare` measures; other switches
    as the module has them by default."""
    from solver.award import lns

    (lns.ADAPTIVE, lns.SWAPS, lns.SLACK_WEIGHTED, lns.CLUSTERS, lns.VEHICLES_EVERY_START, lns.SCALED_SUB_WORK) = (
        DEFAULTS
    )
    if compare == "adaptive":
        lns.ADAPTIVE = lns.SWAPS = after
    elif compare == "swaps":
        lns.ADAPTIVE, lns.SWAPS = False, after
    elif compare == "slack":
        lns.SLACK_WEIGHTED = after
    elif compare == "clusters":
        lns.CLUSTERS = after
    elif compare == "vehicle-starts":
        lns.VEHICLES_EVERY_START = after
    elif compare == "sub-work":
        lns.SCALED_SUB_WORK = after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.award_lns")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--families", default="default,regions,arbitrary")
    parser.add_argument("--work", type=float, default=6.0)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--compare", choices=sorted(VARIANTS), default="starts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    global DEFAULTS
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from solver.award import lns

    award = importlib.import_module("solver.award")
    DEFAULTS = (
        lns.ADAPTIVE,
        lns.SWAPS,
        lns.SLACK_WEIGHTED,
        lns.CLUSTERS,
        lns.VEHICLES_EVERY_START,
        lns.SCALED_SUB_WORK,
    )
    from solver.award.bounds import vehicle_bound
    from solver.award.greedy import starts
    from solver.award.instance import parse
    from solver.award.prep import prepare
    from solver.award.solution import objective

    cmd = (
        f"python -m bench.award_lns --size {args.size} --families {args.families} --work {args.work}"
        f" --seeds {args.seeds} --compare {args.compare}"
    )
    names = VARIANTS[args.compare]
    out = [
        f"# Neighbourhood search at equal work: {names[0]} (before) and {names[1]}",
        "",
        f"`{cmd}`, load average (1 / 5 / 15 min) at the start: {_load()}. Both runs start from the same"
        " greedy award(s) and spend the same deterministic work, so the awards are the same on any machine;"
        " CPU seconds are of this process under that load. Gain: how much lower the price is than the"
        " better greedy start's (vehicles first).",
        "",
        f"| family | seed | greedy start | {names[0]}: vehicles, gain, CPU s | {names[1]}: vehicles, gain, CPU s"
        " | better |",
        "|---|---|---|---|---|---|",
    ]
    try:
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            for fam in args.families.split(","):
                n_lots, n_oems, kw = FAMILIES[fam][args.size]
                inst = parse(make_round(n_lots, n_oems, args.size, seed=seed, **kw))
                prep = prepare(inst)
                first, *others = starts(inst, prep)
                v0, c0 = objective(inst, first)
                cells = []
                keys = []
                for after in (False, True):
                    _set(args.compare, after)
                    t0 = time.process_time()
                    start, rest, work = first, others, args.work
                    if args.compare in WITH_VEHICLES:
                        start, rest, spent, _ = lns.served_starts(
                            inst,
                            prep,
                            first,
                            others,
                            deadline=time.monotonic() + 3600,
                            work_limit=award.VEHICLE_SHARE * work,
                            vbound=max(v0, vehicle_bound(inst, prep)),
                        )
                        work -= spent
                    sol, _, _ = lns.improve_price(
                        inst,
                        start,
                        deadline=time.monotonic() + 3600,
                        work_limit=work,
                        on_improve=lambda s: None,
                        others=rest if args.compare != "starts" or after else (),
                        vbound=max(v0, vehicle_bound(inst, prep)),
                    )
                    cpu = time.process_time() - t0
                    v, c = objective(inst, sol)
                    keys.append((v, -c))
                    cells.append(f"{v}, {(c0 - c) / c0 * 100:.3f} %, {cpu:.1f}")
                    print(fam, seed, names[after], cells[-1], file=sys.stderr, flush=True)
                better = names[1] if keys[1] > keys[0] else names[0] if keys[0] > keys[1] else "same"
                out.append(f"| {fam} | {seed} | {v0} | {cells[0]} | {cells[1]} | {better} |")
    finally:
        _set("", False)
    out += ["", f"Load average at the end: {_load()}.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The 200-bid award's tie-break alone, one variant beside another (issue 17):
python -m bench.award_tie_break [--families a,b] [--seeds 1,2,3] [--variants plain,symmetry] [--work W]

Each family's 200-bid round (bench.award_families) is solved to its proven optimum by
solver.award (default work, no backups, the tie-break skipped), then the tie-break
(solver.award._tie_break: the least T of the optimum's class, the proof that the optima have no
other class, ...) runs from that optimum once per variant, in this one process, one right after
the other so they see the same machine load. It lists CP-SAT's deterministic work (the same on
any machine), the CPU seconds, whether T's minimum was proven within the work limit
(TIE_BREAK_WORK, or --work) and whether the proven awards are the same. Variants:
- plain: the class proof on the model of the optima as the rules state it;
- symmetry: that model with interchangeable lines ordered (TIE_SYMMETRY, the default);
- packages: not the solver's: classes are package sets. At each optimal package set the least T is
  solver.award.lotlex's per lot (exact, no CP-SAT; kept only where the lots' bests together respect
  every capacity and give the optimum), and the proof that no other package set is optimal is the
  class proof's search on the symmetric model with `other` meaning "another package set" (its
  work is the column's; lotlex's CPU is in the CPU column). Where lotlex does not apply: unproven.
The optimum itself costs 1-40 s of CPU per round (bench/results/award_proof.md): keep the lists short.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
import sys
import time
from typing import Any

VARIANTS: dict[str, dict[str, bool]] = {
    "plain": {"TIE_SYMMETRY": False},
    "symmetry": {"TIE_SYMMETRY": True},
    "packages": {},
}


def optimum(doc: dict[str, Any]) -> Any | None:
    """The award's state (solver.award._Best) at its proven optimum, or None when not proven."""
    award_mod = importlib.import_module("solver.award")
    got: list[tuple[Any, ...]] = []
    orig = award_mod._tie_break
    award_mod._tie_break = lambda *a, **k: got.append(a)
    try:
        award_mod.award(doc, time_limit=600, backups=False)
    finally:
        award_mod._tie_break = orig
    return got[0] if got else None


def tie_break(state: tuple[Any, ...], variant: str, work: float | None) -> dict[str, Any]:
    """The tie-break from the proven optimum `state` under `variant`: work, CPU s, proven, award."""
    award_mod = importlib.import_module("solver.award")
    from solver.award import cpsat

    inst, prep, best, *_ = state
    best = copy.copy(best)
    best.stops = set()
    if variant == "packages":
        return by_packages(inst, prep, best.vehicles, best.cents, best.sol, work or award_mod.TIE_BREAK_WORK)
    dts: list[float] = []
    depth = [0]
    orig = cpsat.AwardModel.canonical

    def canonical(self: cpsat.AwardModel, *a: Any, **kw: Any) -> cpsat.Canonical:
        depth[0] += 1
        try:
            r = orig(self, *a, **kw)
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            dts.append(r.deterministic_time)
        return r

    saved = {k: getattr(award_mod, k) for k in (*VARIANTS[variant], "TIE_BREAK_WORK")}
    cpsat.AwardModel.canonical = canonical  # type: ignore[method-assign]
    for k, v in VARIANTS[variant].items():
        setattr(award_mod, k, v)
    if work is not None:
        award_mod.TIE_BREAK_WORK = work
    try:
        c = time.process_time()
        award_mod._tie_break(inst, prep, best, time.monotonic() + 600, award_mod.TIE_BREAK_WORK)
        cpu = time.process_time() - c
    finally:
        cpsat.AwardModel.canonical = orig  # type: ignore[method-assign]
        for k, v in saved.items():
            setattr(award_mod, k, v)
    bids = {b: a for b, a in best.sol.bids.items() if sum(a.values())}
    return {"work": sum(dts), "cpu": cpu, "proven": best.canonical, "award": (bids, best.sol.packages)}


def by_packages(inst: Any, prep: Any, vehicles: int, cents: int, sol: Any, work_limit: float) -> dict[str, Any]:
    """The "packages" variant from the optimum (vehicles, cents, sol): see the module's note."""
    from ortools.sat.python import cp_model

    from solver.award import lotlex, lotlex_way
    from solver.award.bounds import servable_lines
    from solver.award.cpsat import AwardModel, _stop_at_other
    from solver.award.lagrange import lot_parts
    from solver.award.solution import objective
    from solver.award.vehicles import used_per_supplier

    c0 = time.process_time()
    parts = lot_parts(inst, prep)
    statics = [lotlex.static(inst, part) for part in parts]
    serve_all = vehicles == sum(inst.lines[li].quantity for li in servable_lines(prep))
    model = AwardModel(inst, prep, serve_all=serve_all, symmetry=True)
    m = model.model
    lex = not serve_all and model.lex_fits
    if not (serve_all or lex):
        m.add(model.vehicles >= vehicles)
    m.add(model.price <= cents)
    other = m.new_bool_var("")
    below = 2 * cents - 1
    if lex:
        m.minimize(2 * model.price - other - 2 * model.lex_weight * model.vehicles)
        below -= 2 * model.lex_weight * vehicles
    else:
        m.minimize(2 * model.price - other)
    found: list[tuple[int, tuple[int, ...], Any]] = []
    work, cur = 0.0, sol

    def out(proven: bool) -> dict[str, Any]:
        got = min(found, key=lambda f: (f[0], f[1]))[2] if proven else sol
        bids = {b: a for b, a in got.bids.items() if sum(a.values())}
        return {"work": work, "cpu": time.process_time() - c0, "proven": proven, "award": (bids, got.packages)}

    while True:
        chosen = set(cur.packages)
        bests = [
            None
            if st is None
            else lotlex.best(inst, st, tuple(i for i, p in enumerate(part.packages) if p.package in chosen))
            for st, part in zip(statics, parts, strict=True)
        ]
        if any(b is None for b in bests):
            return out(False)
        cand = lotlex_way.to_solution(inst, [b for b in bests if b is not None])
        used = used_per_supplier(inst, cand)
        if objective(inst, cand) != (vehicles, cents) or any(u > c for u, c in zip(used, inst.capacity, strict=True)):
            return out(False)
        found.append((sum(b.t for b in bests if b is not None), tuple(sorted(chosen)), cand))
        lits = [~p.chosen if p.opt.package in chosen else p.chosen for p in model.families.packages]
        m.add_bool_or(lits or [other.Not()]).only_enforce_if(other)
        model.hint(cur)
        m.add_hint(other, 0)
        solver = model._tie_solver(600.0, max(0.001, work_limit - work), proof=True)
        status = solver.solve(m, _stop_at_other(other, below))
        work += solver.deterministic_time
        if status == cp_model.OPTIMAL and not solver.value(other):
            return out(True)
        if not (status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.value(other)):
            return out(False)
        if solver.objective_value > below or work >= work_limit:
            return out(False)
        cur = model.extract(solver.value)


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round
    from bench.award_proof import ratio_summary

    parser = argparse.ArgumentParser(prog="python -m bench.award_tie_break")
    parser.add_argument("--families", default="default")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--variants", default="plain,symmetry")
    parser.add_argument("--work", type=float, default=None, help="the tie-break's work limit (default TIE_BREAK_WORK)")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}, known: {sorted(VARIANTS)}")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    work = "" if args.work is None else f" --work {args.work:g}"
    out = [
        f"`python -m bench.award_tie_break --families {args.families} --seeds {args.seeds}"
        f" --variants {args.variants}{work}`, load average at the start {load}",
        "",
        "| family | seed | " + " | ".join(f"{v}: work, CPU s, proven" for v in variants) + " | same award |",
        "|---|---|" + "---|" * len(variants) + "---|",
    ]
    ratios: dict[str, list[float]] = {v: [] for v in variants[1:]}
    for fam in [f for f in args.families.split(",") if f]:
        n_lots, n_oems, kw = FAMILIES[fam][200]
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            state = optimum(make_round(n_lots, n_oems, 200, seed=seed, **kw))
            if state is None:
                out.append(f"| {fam} | {seed} | " + " | ".join("optimum not proven" for _ in variants) + " | - |")
                continue
            got = [tie_break(state, v, args.work) for v in variants]
            cells = [f"{g['work']:.2f}, {g['cpu']:.1f}, {'yes' if g['proven'] else 'no'}" for g in got]
            proven = [g["award"] for g in got if g["proven"]]
            same = all(a == proven[0] for a in proven)
            out.append(f"| {fam} | {seed} | " + " | ".join(cells) + f" | {same} |")
            print(out[-1], file=sys.stderr, flush=True)
            for v, g in zip(variants[1:], got[1:], strict=True):
                ratios[v].append(g["work"] / max(got[0]["work"], 1e-9))
    print("\n".join(out + ratio_summary(ratios, variants[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

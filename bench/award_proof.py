"""Where the 200-bid award's exact proof spends its work, one variant beside another (issue 17):
python -m bench.award_proof [--families a,b] [--seeds 1,2,3] [--variants plain,symmetry]

Each family's 200-bid round (bench.award_families) runs through solver.award with its default
work limits, without backups and without the tie-break (its proof is measured by
bench.award_exact), in this one process, every variant right after the other on the same round
so they see the same machine load. Per phase of the exact search (the serve-all probe, the price
or vehicles-and-price proof) it lists CP-SAT's deterministic work (the same on any machine) and
the process's CPU seconds; then the median ratio of each variant to the first. Variants:
- plain: the proof's model as the rules state it;
- symmetry: interchangeable lines ordered (solver.award.rules.symmetry, the default);
- lazy-lp: the proof's LP rows added as they are violated (CP-SAT's default; before the whole LP
  from the start was kept);
- cut-rounds-5, polish-lp, exploit-best, core, probe0, probe1, presolve-1, no-inprocessing: the
  default with one CP-SAT parameter of the proof changed (VARIANTS), measured and not kept
  (probing level 0 or 1, one presolve pass instead of three, no SAT inprocessing:
  bench/results/award_proof.md, "tiers-1-15 and many-suppliers").
Rounds cost 1-40 s of CPU each (bench/results/award_exact.md): keep the list short on a busy machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {"plain": {"PROOF_SYMMETRY": False}, "symmetry": {"PROOF_SYMMETRY": True}}
# The default with CP-SAT parameters of the proof changed (bench/results/award_proof.md): the key
# "params" updates solver.award.cpsat.PROOF_PARAMS. lazy-lp is the default before the whole LP
# from the start (add_lp_constraints_lazily false) was kept; the others were not kept.
VARIANTS.update(
    {
        name: {"PROOF_SYMMETRY": True, "params": params}
        for name, params in {
            "lazy-lp": {"add_lp_constraints_lazily": True},
            "cut-rounds-5": {"max_cut_rounds_at_level_zero": 5},
            "polish-lp": {"polish_lp_solution": True},
            "exploit-best": {"exploit_best_solution": True},
            "core": {"optimize_with_core": True},
            "probe0": {"cp_model_probing_level": 0},
            "probe1": {"cp_model_probing_level": 1},
            "presolve-1": {"max_presolve_iterations": 1},
            "no-inprocessing": {"use_sat_inprocessing": False},
        }.items()
    }
)


def measure(doc: dict[str, Any], variant: str) -> dict[str, Any]:
    """Solve `doc` as the award does up to its proven optimum; per phase (goal, work, CPU s)."""
    award_mod = importlib.import_module("solver.award")
    from solver.award import cpsat

    phases: list[tuple[str, float, float]] = []
    orig_phase = cpsat.AwardModel.solve_phase
    settings = dict(VARIANTS[variant])
    params = settings.pop("params", {})
    orig_tie, saved = award_mod._tie_break, {k: getattr(award_mod, k) for k in settings}
    orig_params = cpsat.PROOF_PARAMS

    def phase(self: cpsat.AwardModel, **kw: Any) -> cpsat.PhaseResult:
        c = time.process_time()
        r = orig_phase(self, **kw)
        goal = ("probe " if kw.get("first_solution_only") else "") + kw["objective"]
        phases.append((goal, r.deterministic_time, time.process_time() - c))
        return r

    cpsat.AwardModel.solve_phase = phase  # type: ignore[method-assign]
    award_mod._tie_break = lambda *a, **k: None
    for k, v in settings.items():
        setattr(award_mod, k, v)
    cpsat.PROOF_PARAMS = {**orig_params, **params}
    try:
        c = time.process_time()
        r = award_mod.award(doc, time_limit=600, backups=False)
        cpu = time.process_time() - c
    finally:
        cpsat.AwardModel.solve_phase = orig_phase  # type: ignore[method-assign]
        award_mod._tie_break = orig_tie
        for k, v in saved.items():
            setattr(award_mod, k, v)
        cpsat.PROOF_PARAMS = orig_params
    return {
        "status": r["status"],
        "objective": (r["awarded_quantity"], r["total_price"]),
        "work": sum(w for _, w, _ in phases),
        "cpu": cpu,
        "phases": phases,
    }


def main(argv: list[str] | None = None) -> int:
    from bench.award_families import FAMILIES
    from bench.award_instances import make_round

    parser = argparse.ArgumentParser(prog="python -m bench.award_proof")
    parser.add_argument("--families", default="default,regions,tiers-1-15,many-suppliers")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--variants", default="plain,symmetry")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}, known: {sorted(VARIANTS)}")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        f"`python -m bench.award_proof --families {args.families} --seeds {args.seeds} --variants {args.variants}`,"
        f" load average at the start {load}",
        "",
        "| family | seed | " + " | ".join(f"{v}: work, CPU s (phases)" for v in variants) + " | same optimum |",
        "|---|---|" + "---|" * len(variants) + "---|",
    ]
    ratios: dict[str, list[float]] = {v: [] for v in variants[1:]}
    for fam in [f for f in args.families.split(",") if f]:
        n_lots, n_oems, kw = FAMILIES[fam][200]
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            doc = make_round(n_lots, n_oems, 200, seed=seed, **kw)
            got = [measure(doc, v) for v in variants]
            cells = [
                f"{g['work']:.2f}, {g['cpu']:.1f} ({'; '.join(f'{n} {w:.2f}' for n, w, _ in g['phases'])})" for g in got
            ]
            same = all(g["objective"] == got[0]["objective"] and g["status"] == "OPTIMAL" for g in got)
            out.append(f"| {fam} | {seed} | " + " | ".join(cells) + f" | {same} |")
            print(out[-1], file=sys.stderr, flush=True)
            for v, g in zip(variants[1:], got[1:], strict=True):
                ratios[v].append(g["work"] / max(got[0]["work"], 1e-9))
    print("\n".join(out + ratio_summary(ratios, variants[0])))
    return 0


def ratio_summary(ratios: dict[str, list[float]], base: str) -> list[str]:
    """The closing lines of a variant table: each variant's work over the base's, and the load."""
    lines = [""]
    for v, rs in ratios.items():
        if rs:
            lines.append(
                f"- {v} / {base} work: median {statistics.median(rs):.2f}, range {min(rs):.2f}-{max(rs):.2f}"
                f" over {len(rs)} rounds."
            )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return [*lines, f"- Load average at the end: {load}."]


if __name__ == "__main__":
    sys.exit(main())

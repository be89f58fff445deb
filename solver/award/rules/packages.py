"""Rule: a package is all-or-nothing: every item at its exact quantity, or none.

Per package `chosen` z, and per item its line allocations summing to the item's quantity x z.
(Unit prices are fixed per item, so the package's price is z x its total.)
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.award.rules.variables import Families, ItemVars, LineAlloc, PackageVars


def add(f: Families) -> None:
    m, inst = f.model, f.inst
    for p in f.prep.packages:
        chosen = m.new_bool_var("")
        rank = inst.source_rank[inst.packages[p.package].id]
        items = []
        for it in p.items:
            lines = []
            for li in it.lines:
                x, unit, ub = f.line_var(li, it.quantity, chosen)
                lines.append(LineAlloc(li, x, unit, ub, rank, it.item))
            m.add(
                cp_model.LinearExpr.weighted_sum([a.var for a in lines], [a.unit for a in lines])
                == it.quantity * chosen
            )
            items.append(ItemVars(it, tuple(lines)))
        f.packages.append(PackageVars(p, chosen, tuple(items)))

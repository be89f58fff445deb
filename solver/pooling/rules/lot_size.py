"""Rule: a lot's quantity lies within [min_lot_quantity, max_lot_quantity].

Per copy: min x lots <= vehicles <= max x lots, and no more items of a class than one lot can
hold x lots (it links items to lots, which makes the LP relaxation a set-cover bound on lots
instead of the weak pooled / max).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.pooling.rules.variables import LotCopy


def add(m: cp_model.CpModel, c: LotCopy, lo: int, hi: int) -> None:
    for it in c.items:
        m.add(it.var <= it.most * c.lots)
    vehicles = cp_model.LinearExpr.weighted_sum([it.var for it in c.items], [it.unit for it in c.items])
    m.add(vehicles >= lo * c.lots)
    m.add(vehicles <= hi * c.lots)

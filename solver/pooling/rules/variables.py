"""The pooling model's variable families, typed and named (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.pooling.components import Component

Var = cp_model.IntVar


@dataclass(frozen=True)
class Items:
    klass: int  # class index in the component
    var: Var  # items of the class in the lot(s) of this copy
    unit: int  # vehicles per item
    level: int  # levels from the class's region up to the slot's
    most: int  # the most items of the class one lot can hold


@dataclass(frozen=True)
class LotCopy:
    slot: int
    copy: int  # 0 in the aggregate model; the lot's number in the explicit one
    lots: Var  # aggregate: lots in the slot; explicit: this lot is used
    items: tuple[Items, ...]


def new_copy(m: cp_model.CpModel, comp: Component, si: int, k: int, lots: Var, hi: int, explicit: bool) -> LotCopy:
    """The item variables of copy k of slot si, for the lots variable `lots`."""
    items = []
    for ci, lev in comp.slots[si].members:
        cl = comp.classes[ci]
        per_lot = min(cl.cap, hi // cl.unit)
        var = m.new_int_var(0, per_lot if explicit else cl.cap, "")
        items.append(Items(ci, var, cl.unit, lev, per_lot))
    return LotCopy(si, k, lots, tuple(items))

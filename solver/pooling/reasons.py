"""Why a line (or the rest of a splittable line) stays unpooled, in a coordinator's words."""

from __future__ import annotations

from solver.pooling.components import Component, Klass
from solver.pooling.packing import Assignment
from solver.pooling.types import Rules


def unpoolable_reason(k: Klass, rules: Rules) -> str:
    """A class that fits no candidate lot at all."""
    if not k.splittable and k.unit > rules.max_lot:
        return (
            f"the maximum lot size of {rules.max_lot} cut it off: {k.unit} vehicles do not fit one lot"
            " and the line is not splittable"
        )
    if not k.has_partner:
        return (
            "no other compatible line in its segment, region (up to "
            f"{rules.max_levels_up} levels up), delivery window and charging standards, and alone it is below"
            f" the minimum lot size of {rules.min_lot}"
        )
    return (
        f"its compatible demand ({k.best_total} vehicles at most) does not reach"
        f" the minimum lot size of {rules.min_lot}"
    )


def leftover_reason(comp: Component, ci: int, a: Assignment, rules: Rules) -> str:
    """A class that could join some lot but was (partly) left out by the optimization."""
    if any(a.n.get(si, 0) for si, _ in comp.classes[ci].slots):
        return (
            f"the maximum lot size of {rules.max_lot} cut it off: the lots it could join are full, and what is"
            f" left does not reach the minimum lot size of {rules.min_lot} for another lot"
        )
    return f"its compatible demand left after the other lots does not reach the minimum lot size of {rules.min_lot}"

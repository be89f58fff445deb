"""Rule: no supplier wins more than max_share_per_supplier x the lot's demand (rounded down).

Lot.share_cap holds that number. In a lot with a winner limit the cap is the bound of the
supplier's winner indicator instead (solver.award.rules.winners), one constraint for both.
"""

from __future__ import annotations

from solver.award.rules.variables import Expr, Families


def cap(f: Families, supplier: int, lot: int) -> int:
    """The most the supplier may win in the lot: its share cap, and never past its capacity."""
    return min(f.inst.lots[lot].share_cap, f.inst.capacity[supplier])


def add(f: Families, supplier: int, lot: int, won: Expr, most: int) -> None:
    """`won` (the supplier's vehicles in the lot, at most `most`) within the cap, where it matters."""
    c = cap(f, supplier, lot)
    if most > c:
        f.model.add(won <= c)

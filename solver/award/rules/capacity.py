"""Rule: a supplier's awarded vehicles over all its bids and packages stay within its capacity.

One linear constraint per supplier, only where its options could add up to more.
"""

from __future__ import annotations

from solver.award.rules.variables import Families, weighted


def add(f: Families) -> None:
    most = f.most_of_supplier()
    for s, terms in sorted(f.of_supplier().items()):
        if most[s] > f.inst.capacity[s]:
            f.model.add(weighted(terms) <= f.inst.capacity[s])

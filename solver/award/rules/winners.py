"""Rule: at most max_winners_per_lot suppliers win in one lot.

Only lots with more bidding suppliers than the limit get variables: per supplier a WinnerVar
w >= each of its selections in the lot, its vehicles there <= min(share cap, most) x w (which
also states its share cap, solver.award.rules.share_caps), and sum of w <= the limit.
Other lots get the plain share cap.
"""

from __future__ import annotations

from solver.award.rules import share_caps
from solver.award.rules.variables import Families, WinnerVar, weighted


def add(f: Families) -> None:
    m, inst = f.model, f.inst
    selections = f.selections_in_lot()
    terms = f.in_lot()
    most = f.most_in_lot()
    by_lot: dict[int, list[int]] = {}
    for s, lot in selections:
        by_lot.setdefault(lot, []).append(s)
    most_winners = inst.max_winners
    for lot, sups in sorted(by_lot.items()):
        limited = most_winners is not None and len(sups) > most_winners
        ws = []
        for s in sorted(sups):
            won = weighted(terms[s, lot])
            if limited:
                w = m.new_bool_var("")
                f.winners.append(WinnerVar(s, lot, w))
                for v in selections[s, lot]:
                    m.add_implication(v, w)
                m.add(won <= min(share_caps.cap(f, s, lot), most[s, lot]) * w)
                ws.append(w)
            else:
                share_caps.add(f, s, lot, won, most[s, lot])
        if most_winners is not None and limited:
            m.add(sum(ws) <= most_winners)

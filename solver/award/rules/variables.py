"""The award model's variable families, typed and named (see the package docstring).

Per reachable tier of a bid: `chosen` (the bid is awarded at that tier) and one LineAlloc per
eligible line; per package: `chosen` and, per item, one LineAlloc per eligible line; per
(supplier, lot) of a lot with a winner limit: a WinnerVar. A LineAlloc is a boolean (whole line
service: the line goes whole to the source, `unit` = its quantity) or an integer number of
vehicles (split service, `unit` = 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver.award.instance import Instance
from solver.award.prep import ItemOpt, PackageOpt, Prepared, TierOpt

Var = cp_model.IntVar
Expr = cp_model.LinearExprT


@dataclass(frozen=True)
class LineAlloc:
    line: int  # line index
    var: Var
    unit: int  # vehicles one unit of `var` stands for
    ub: int  # the largest value `var` can take
    rank: int  # the source's rank (canonical tie-break)
    option: int  # the tier (bid) or item (package) index


@dataclass(frozen=True)
class TierVars:
    opt: TierOpt
    chosen: Var
    lines: tuple[LineAlloc, ...]

    @property
    def quantity(self) -> Expr:
        return cp_model.LinearExpr.weighted_sum([a.var for a in self.lines], [a.unit for a in self.lines])


@dataclass(frozen=True)
class ItemVars:
    opt: ItemOpt
    lines: tuple[LineAlloc, ...]


@dataclass(frozen=True)
class PackageVars:
    opt: PackageOpt
    chosen: Var
    items: tuple[ItemVars, ...]


@dataclass(frozen=True)
class WinnerVar:
    supplier: int
    lot: int
    var: Var  # the supplier wins something in the lot


@dataclass
class Families:
    """Every variable of the model, in creation order (which is the canonical order)."""

    model: cp_model.CpModel
    inst: Instance
    prep: Prepared
    tiers: list[TierVars] = field(default_factory=list)
    packages: list[PackageVars] = field(default_factory=list)
    winners: list[WinnerVar] = field(default_factory=list)
    # per group of line allocations split over quarters (solver.award.rules.quarters): its
    # solver.award.deliveries.GroupKey and its vehicles per quarter
    quarter_vars: list[tuple[tuple[int, tuple[int, ...], str | None], list[tuple[int, Var]]]] = field(
        default_factory=list
    )

    @property
    def whole(self) -> bool:
        return self.inst.whole

    def line_var(self, li: int, most: int, source: Var) -> tuple[Var, int, int]:
        """Line li's allocation to a source chosen by the boolean `source`: (variable, vehicles per
        unit, upper bound). Whole service: a boolean implying the source; split: an integer of at
        most `most` vehicles."""
        q = self.inst.lines[li].quantity
        if self.whole:
            x = self.model.new_bool_var("")
            self.model.add_implication(x, source)
            return x, q, 1
        return self.model.new_int_var(0, min(q, most), ""), 1, min(q, most)

    def allocations(self) -> Iterator[LineAlloc]:
        """Every line allocation: the bids' tiers, then the packages' items."""
        for t in self.tiers:
            yield from t.lines
        for p in self.packages:
            for it in p.items:
                yield from it.lines

    def of_line(self) -> list[list[Var]]:
        """Per line, the allocations that can serve it (tiers first, then packages)."""
        out: list[list[Var]] = [[] for _ in self.inst.lines]
        for a in self.allocations():
            out[a.line].append(a.var)
        return out

    def of_supplier(self) -> dict[int, list[tuple[Var, int]]]:
        """Per supplier, (variable, vehicles per unit) of what it can be awarded: its tiers' line
        allocations, then each package as a whole (its `chosen` x its quantity)."""
        out: dict[int, list[tuple[Var, int]]] = {}
        for t in self.tiers:
            s = self.inst.bids[t.opt.bid].supplier
            out.setdefault(s, []).extend((a.var, a.unit) for a in t.lines)
        for p in self.packages:
            out.setdefault(p.opt.supplier, []).append((p.chosen, p.opt.quantity))
        return out

    def most_of_supplier(self) -> dict[int, int]:
        """Per supplier, the most vehicles its options could add up to (each bid at its widest tier)."""
        out: dict[int, int] = {}
        for bi, tiers in self._tiers_by_bid().items():
            s = self.inst.bids[bi].supplier
            out[s] = out.get(s, 0) + max(t.hi for t in tiers)
        for p in self.prep.packages:
            out[p.supplier] = out.get(p.supplier, 0) + p.quantity
        return out

    def in_lot(self) -> dict[tuple[int, int], list[tuple[Var, int]]]:
        """Per (supplier, lot), (variable, vehicles per unit) of what the supplier can win there."""
        out: dict[tuple[int, int], list[tuple[Var, int]]] = {}
        for t in self.tiers:
            bid = self.inst.bids[t.opt.bid]
            out.setdefault((bid.supplier, bid.lot), []).extend((a.var, a.unit) for a in t.lines)
        for p in self.packages:
            for it in p.items:
                out.setdefault((p.opt.supplier, it.opt.lot), []).append((p.chosen, it.opt.quantity))
        return out

    def most_in_lot(self) -> dict[tuple[int, int], int]:
        """Per (supplier, lot), the most vehicles the supplier's options there could add up to."""
        out: dict[tuple[int, int], int] = {}
        for bi, tiers in self._tiers_by_bid().items():
            bid = self.inst.bids[bi]
            out[bid.supplier, bid.lot] = out.get((bid.supplier, bid.lot), 0) + max(t.hi for t in tiers)
        for p in self.prep.packages:
            for it in p.items:
                out[p.supplier, it.lot] = out.get((p.supplier, it.lot), 0) + it.quantity
        return out

    def selections_in_lot(self) -> dict[tuple[int, int], list[Var]]:
        """Per (supplier, lot), the booleans that make the supplier win there (tiers, then packages)."""
        out: dict[tuple[int, int], list[Var]] = {}
        for t in self.tiers:
            bid = self.inst.bids[t.opt.bid]
            out.setdefault((bid.supplier, bid.lot), []).append(t.chosen)
        for p in self.packages:
            for it in p.items:
                out.setdefault((p.opt.supplier, it.opt.lot), []).append(p.chosen)
        return out

    def _tiers_by_bid(self) -> dict[int, list[TierOpt]]:
        out: dict[int, list[TierOpt]] = {}
        for t in self.tiers:
            out.setdefault(t.opt.bid, []).append(t.opt)
        return out


def weighted(terms: list[tuple[Var, int]]) -> Expr:
    return cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])

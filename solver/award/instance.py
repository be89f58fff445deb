"""The award input as typed, index-based data, after structural and semantic validation.

Everything is put in a canonical order (ids in natural order, solver.order) so the model, the greedy and the
output never depend on the order of the input document. Prices are integer cents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from solver import schema
from solver.errors import InvalidInput, Problem
from solver.money import to_cents
from solver.order import natural_key
from solver.quarters import parse_quarter


@dataclass(frozen=True)
class Line:
    id: str
    lot: int
    quantity: int
    max_cents: int
    excluded: frozenset[int]  # supplier indices
    fleet: str | None = None
    window: tuple[int, int] | None = None  # first and last delivery quarter (ordinals), inclusive


@dataclass(frozen=True)
class Lot:
    id: str
    lines: tuple[int, ...]  # line indices, in natural order of line id
    demand: int  # total quantity of its lines
    share_cap: int  # floor(max_share_per_supplier x demand)
    segment: str | None = None


@dataclass(frozen=True)
class Tier:
    min_quantity: int
    cents: int


@dataclass(frozen=True)
class Bid:
    id: str
    supplier: int
    lot: int
    min_quantity: int
    max_quantity: int
    tiers: tuple[Tier, ...]
    quarters: frozenset[int] | None = None  # delivery quarters it can deliver in (None: any)

    def tier_at(self, quantity: int) -> int:
        """Index of the tier whose price applies to `quantity` (all-units: the highest reached)."""
        k = 0
        for i, t in enumerate(self.tiers):
            if t.min_quantity <= quantity:
                k = i
        return k

    def band(self, k: int) -> tuple[int, int]:
        """Quantities priced at tier k, within the bid's range (may be empty: lo > hi)."""
        lo = max(self.tiers[k].min_quantity, self.min_quantity)
        hi = self.max_quantity
        if k + 1 < len(self.tiers):
            hi = min(hi, self.tiers[k + 1].min_quantity - 1)
        return lo, hi


@dataclass(frozen=True)
class Item:
    lot: int
    quantity: int
    cents: int


@dataclass(frozen=True)
class Package:
    id: str
    supplier: int
    items: tuple[Item, ...]  # sorted by lot id
    quarters: frozenset[int] | None = None


@dataclass
class Instance:
    suppliers: list[str]
    capacity: list[int]
    lots: list[Lot]
    lines: list[Line]
    bids: list[Bid]
    packages: list[Package]
    max_winners: int | None
    share: Decimal
    whole: bool
    # source ranks for the canonical tie-break: bids and packages together in natural id order
    source_rank: dict[str, int] = field(default_factory=dict)
    # Delivery quarters (contract section 2, "Delivery quarters"): `quarterly` is per supplier
    # its capacities by (quarter ordinal, segment or None); empty when it lists none. `span` is
    # the first and last quarter the input names: a line without a window takes any of them.
    # None when the input names no quarter at all: the award then has no deliveries.
    quarterly: list[dict[tuple[int, str | None], int]] = field(default_factory=list)
    span: tuple[int, int] | None = None
    prefer_early: bool = False
    # A neighbourhood's sub-round only (solver.award.lns): the rest of the award's deliveries,
    # as groups (supplier, allowed quarters, segment entry or None) with their vehicles, which
    # the sub-round may move between the group's quarters (rules.quarters); the quarterly
    # capacities above are then the supplier's whole ones.
    outside: list[tuple[tuple[int, tuple[int, ...], str | None], int]] = field(default_factory=list)
    _quarters_memo: dict[tuple[int, int, frozenset[int] | None], tuple[int, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _listed_memo: dict[tuple[int, int, None], frozenset[int] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def total_demand(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def with_quarters(self) -> bool:
        return self.span is not None

    def quarters_for(self, li: int, supplier: int, source_quarters: frozenset[int] | None) -> tuple[int, ...]:
        """The quarters a vehicle of line li from a source of `supplier` may be delivered in:
        inside the line's window, the source's quarters and the supplier's listed quarters."""
        key = (li, supplier, source_quarters)
        got = self._quarters_memo.get(key)
        if got is None:
            assert self.span is not None
            lo, hi = self.lines[li].window or self.span
            listed = self.listed_quarters(supplier)
            got = self._quarters_memo[key] = tuple(
                q
                for q in range(lo, hi + 1)
                if (source_quarters is None or q in source_quarters) and (listed is None or q in listed)
            )
        return got

    def listed_quarters(self, supplier: int) -> frozenset[int] | None:
        key = (-1, supplier, None)  # memoized beside quarters_for: (line -1: the supplier's own)
        if key not in self._listed_memo:
            caps = self.quarterly[supplier] if self.quarterly else None
            self._listed_memo[key] = frozenset(q for q, _ in caps) if caps else None
        return self._listed_memo[key]


def _share_cap(share: Decimal, demand: int) -> int:
    return math.floor(share * demand)


def _is_int(x: Any, lo: int, hi: int = schema.MAX_QUANTITY) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and lo <= x <= hi


def _is_num(x: Any) -> bool:
    # NaN and infinities are sent to the full check, which names them.
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        return False
    return (type(x) is int or math.isfinite(x)) and 0 <= x <= schema.MAX_PRICE


def _is_id(x: Any) -> bool:
    return isinstance(x, str) and x != ""


def _is_quarter(x: Any) -> bool:
    return parse_quarter(x) is not None


def _is_quarters(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(_is_quarter(q) for q in x)


def _keys(obj: Any, required: set[str], allowed: set[str]) -> bool:
    return isinstance(obj, dict) and required <= obj.keys() and obj.keys() <= allowed


_LINE_KEYS = {"id", "fleet", "quantity", "max_unit_price", "excluded_suppliers", "window"}
_RULE_KEYS = {"max_winners_per_lot", "max_share_per_supplier", "line_service", "prefer_early_delivery", "backups"}


def _quarterly_ok(qc: Any) -> bool:
    if not isinstance(qc, list) or not qc:
        return False
    for e in qc:
        if not _keys(e, {"quarter", "capacity"}, {"quarter", "segment", "capacity"}):
            return False
        if not _is_quarter(e["quarter"]) or not _is_int(e["capacity"], 0, schema.MAX_CAPACITY):
            return False
        if "segment" in e and not _is_id(e["segment"]):
            return False
    return True


def _window_ok(w: Any) -> bool:
    return _keys(w, {"first", "last"}, {"first", "last"}) and _is_quarter(w["first"]) and _is_quarter(w["last"])


def _surely_valid(doc: Any) -> bool:
    """A fast structural check that implies the JSON Schema holds (jsonschema is ~1 s per
    2,000 bids); when it says no, the schema itself is run to name every problem."""
    try:
        if not _keys(doc, {"suppliers", "lots", "bids"}, {"rules", "suppliers", "lots", "bids", "packages"}):
            return False
        rules = doc.get("rules", {})
        if not _keys(rules, set(), _RULE_KEYS):
            return False
        if not all(isinstance(rules.get(k, False), bool) for k in ("prefer_early_delivery", "backups")):
            return False
        mw = rules.get("max_winners_per_lot")
        if mw is not None and not _is_int(mw, 1):
            return False
        if "max_share_per_supplier" in rules:
            sh = rules["max_share_per_supplier"]
            if not _is_num(sh) or not 0 < sh <= 1:
                return False
        if rules.get("line_service", "whole") not in ("whole", "split"):
            return False
        for sup in doc["suppliers"]:
            if not _keys(sup, {"id", "capacity"}, {"id", "name", "capacity", "quarterly_capacity"}):
                return False
            if not _is_id(sup["id"]):
                return False
            if "quarterly_capacity" in sup and not _quarterly_ok(sup["quarterly_capacity"]):
                return False
            if not _is_int(sup["capacity"], 0, schema.MAX_CAPACITY) or not isinstance(sup.get("name", ""), str):
                return False
        for lot in doc["lots"]:
            if not _keys(lot, {"id", "demand"}, {"id", "segment", "demand"}) or not _is_id(lot["id"]):
                return False
            if "segment" in lot and not _is_id(lot["segment"]):
                return False
            for d in lot["demand"]:
                if not _keys(d, {"id", "quantity", "max_unit_price"}, _LINE_KEYS) or not _is_id(d["id"]):
                    return False
                if not _is_int(d["quantity"], 1) or not _is_num(d["max_unit_price"]):
                    return False
                if not isinstance(d.get("fleet", ""), str):
                    return False
                ex = d.get("excluded_suppliers", [])
                if not isinstance(ex, list) or not all(_is_id(x) for x in ex):
                    return False
                if "window" in d and not _window_ok(d["window"]):
                    return False
        for b in doc["bids"]:
            if not _keys(b, {"id", "supplier", "lot", "min_quantity", "max_quantity", "tiers"}, set(b)):
                return False
            if len(b) != 6 + ("quarters" in b) or not (_is_id(b["id"]) and _is_id(b["supplier"]) and _is_id(b["lot"])):
                return False
            if "quarters" in b and not _is_quarters(b["quarters"]):
                return False
            if not (_is_int(b["min_quantity"], 1) and _is_int(b["max_quantity"], 1)):
                return False
            tiers = b["tiers"]
            if not isinstance(tiers, list) or not tiers:
                return False
            for t in tiers:
                if not _keys(t, {"min_quantity", "unit_price"}, {"min_quantity", "unit_price"}):
                    return False
                if not _is_int(t["min_quantity"], 1) or not _is_num(t["unit_price"]):
                    return False
        packages = doc.get("packages", [])
        if not isinstance(packages, list):
            return False
        for p in packages:
            if not _keys(p, {"id", "supplier", "items"}, {"id", "supplier", "items", "quarters"}):
                return False
            if "quarters" in p and not _is_quarters(p["quarters"]):
                return False
            if not (_is_id(p["id"]) and _is_id(p["supplier"])) or not isinstance(p["items"], list) or not p["items"]:
                return False
            for it in p["items"]:
                if not _keys(it, {"lot", "quantity", "unit_price"}, {"lot", "quantity", "unit_price"}):
                    return False
                if not (_is_id(it["lot"]) and _is_int(it["quantity"], 1) and _is_num(it["unit_price"])):
                    return False
        return isinstance(doc["suppliers"], list) and isinstance(doc["lots"], list) and isinstance(doc["bids"], list)
    except (TypeError, AttributeError, KeyError):
        return False


def parse(doc: Any) -> Instance:
    """Validate `doc` against the contract and return the typed instance; InvalidInput otherwise."""
    if not _surely_valid(doc):
        problems = schema.check(doc, "award-input")
        if problems:
            raise InvalidInput(problems)
    assert isinstance(doc, Mapping)
    problems = []

    def dup(kind: str, items: list[tuple[str, Any]], path: Callable[[Any], str]) -> None:
        # paths are written only for a duplicate (building them all took a tenth of the parse)
        seen: dict[str, Any] = {}
        for ident, where in items:
            if ident in seen:
                problems.append(Problem(path(where), f"duplicate {kind} id {ident!r} (first at {path(seen[ident])})"))
            else:
                seen[ident] = where

    rules = doc.get("rules") or {}
    suppliers_doc = doc["suppliers"]
    lots_doc = doc["lots"]
    bids_doc = doc["bids"]
    packages_doc = doc.get("packages") or []

    dup("supplier", [(s["id"], i) for i, s in enumerate(suppliers_doc)], lambda i: f"suppliers[{i}].id")
    dup("lot", [(lot["id"], i) for i, lot in enumerate(lots_doc)], lambda i: f"lots[{i}].id")
    dup(
        "demand line",
        [(d["id"], (i, j)) for i, lot in enumerate(lots_doc) for j, d in enumerate(lot["demand"])],
        lambda ij: f"lots[{ij[0]}].demand[{ij[1]}].id",
    )
    dup(
        "source",
        [(b["id"], ("bids", i)) for i, b in enumerate(bids_doc)]
        + [(p["id"], ("packages", i)) for i, p in enumerate(packages_doc)],
        lambda ki: f"{ki[0]}[{ki[1]}].id",
    )
    supplier_ids = {s["id"] for s in suppliers_doc}
    lot_ids = {lot["id"] for lot in lots_doc}

    def bad_price(path: str) -> None:
        problems.append(Problem(path, "must be a price with at most 2 decimals"))

    for i, lot in enumerate(lots_doc):
        if not lot["demand"]:
            problems.append(Problem(f"lots[{i}].demand", "must list at least one demand line"))
        for j, d in enumerate(lot["demand"]):
            if to_cents(d["max_unit_price"]) is None:
                bad_price(f"lots[{i}].demand[{j}].max_unit_price")
            for k, s in enumerate(d.get("excluded_suppliers", [])):
                if s not in supplier_ids:
                    problems.append(
                        Problem(f"lots[{i}].demand[{j}].excluded_suppliers[{k}]", f"unknown supplier {s!r}")
                    )
            w = d.get("window")
            if w is not None and (parse_quarter(w["first"]) or 0) > (parse_quarter(w["last"]) or 0):
                problems.append(
                    Problem(f"lots[{i}].demand[{j}].window.first", f"must not be after the last quarter ({w['last']})")
                )

    for i, sup in enumerate(suppliers_doc):
        seen_q: dict[tuple[str, str | None], int] = {}
        for k, e in enumerate(sup.get("quarterly_capacity") or []):
            key = (e["quarter"], e.get("segment"))
            if key in seen_q:
                what = f"{key[0]}" + (f" and segment {key[1]!r}" if key[1] is not None else "")
                problems.append(
                    Problem(
                        f"suppliers[{i}].quarterly_capacity[{k}]",
                        f"a second capacity for {what} (quarterly_capacity[{seen_q[key]}])",
                    )
                )
            else:
                seen_q[key] = k

    bid_of: dict[tuple[str, str], int] = {}
    for i, b in enumerate(bids_doc):
        p = f"bids[{i}]"
        if b["supplier"] not in supplier_ids:
            problems.append(Problem(f"{p}.supplier", f"unknown supplier {b['supplier']!r}"))
        if b["lot"] not in lot_ids:
            problems.append(Problem(f"{p}.lot", f"unknown lot {b['lot']!r}"))
        key = (b["supplier"], b["lot"])
        if key in bid_of:
            problems.append(
                Problem(
                    f"{p}.lot",
                    f"supplier {b['supplier']!r} already bids on lot {b['lot']!r} (bids[{bid_of[key]}]);"
                    " at most one bid per supplier and lot",
                )
            )
        else:
            bid_of[key] = i
        if b["min_quantity"] > b["max_quantity"]:
            problems.append(Problem(f"{p}.min_quantity", f"must not exceed max_quantity ({b['max_quantity']})"))
        tiers = b["tiers"]
        if tiers[0]["min_quantity"] != b["min_quantity"]:
            problems.append(
                Problem(f"{p}.tiers[0].min_quantity", f"must equal the bid's min_quantity ({b['min_quantity']})")
            )
        for k, t in enumerate(tiers):
            if to_cents(t["unit_price"]) is None:
                bad_price(f"{p}.tiers[{k}].unit_price")
            if k and t["min_quantity"] <= tiers[k - 1]["min_quantity"]:
                problems.append(
                    Problem(
                        f"{p}.tiers[{k}].min_quantity",
                        f"tier minimums must strictly increase (previous tier: {tiers[k - 1]['min_quantity']})",
                    )
                )

    for i, pkg in enumerate(packages_doc):
        p = f"packages[{i}]"
        if pkg["supplier"] not in supplier_ids:
            problems.append(Problem(f"{p}.supplier", f"unknown supplier {pkg['supplier']!r}"))
        seen_lots: dict[str, int] = {}
        for k, item in enumerate(pkg["items"]):
            if item["lot"] not in lot_ids:
                problems.append(Problem(f"{p}.items[{k}].lot", f"unknown lot {item['lot']!r}"))
            if item["lot"] in seen_lots:
                problems.append(
                    Problem(
                        f"{p}.items[{k}].lot",
                        f"lot {item['lot']!r} already in this package (items[{seen_lots[item['lot']]}])",
                    )
                )
            else:
                seen_lots[item["lot"]] = k
            if to_cents(item["unit_price"]) is None:
                bad_price(f"{p}.items[{k}].unit_price")

    if problems:
        raise InvalidInput(sorted(set(problems)))
    return _build(doc, rules, suppliers_doc, lots_doc, bids_doc, packages_doc)


def _build(doc: Any, rules: Any, suppliers_doc: Any, lots_doc: Any, bids_doc: Any, packages_doc: Any) -> Instance:
    share_raw = rules.get("max_share_per_supplier", 1)
    share = Decimal(str(share_raw)) if isinstance(share_raw, float) else Decimal(share_raw)
    sup_sorted = sorted(suppliers_doc, key=lambda s: natural_key(s["id"]))
    suppliers = [s["id"] for s in sup_sorted]
    sidx = {s: i for i, s in enumerate(suppliers)}
    capacity = [int(s["capacity"]) for s in sup_sorted]

    lots_sorted = sorted(lots_doc, key=lambda lot: natural_key(lot["id"]))
    lidx = {lot["id"]: i for i, lot in enumerate(lots_sorted)}
    lines: list[Line] = []
    lots: list[Lot] = []
    for li, lot in enumerate(lots_sorted):
        idxs = []
        for d in sorted(lot["demand"], key=lambda d: natural_key(d["id"])):
            idxs.append(len(lines))
            lines.append(
                Line(
                    id=d["id"],
                    lot=li,
                    quantity=int(d["quantity"]),
                    max_cents=to_cents(d["max_unit_price"]) or 0,
                    excluded=frozenset(sidx[s] for s in d.get("excluded_suppliers", [])),
                    fleet=d.get("fleet"),
                    window=_window(d.get("window")),
                )
            )
        demand = sum(lines[i].quantity for i in idxs)
        lots.append(
            Lot(
                id=lot["id"],
                lines=tuple(idxs),
                demand=demand,
                share_cap=_share_cap(share, demand),
                segment=lot.get("segment"),
            )
        )

    bids = [
        Bid(
            id=b["id"],
            supplier=sidx[b["supplier"]],
            lot=lidx[b["lot"]],
            min_quantity=int(b["min_quantity"]),
            max_quantity=int(b["max_quantity"]),
            tiers=tuple(Tier(int(t["min_quantity"]), to_cents(t["unit_price"]) or 0) for t in b["tiers"]),
            quarters=_quarter_set(b.get("quarters")),
        )
        for b in sorted(bids_doc, key=lambda b: natural_key(b["id"]))
    ]
    packages = [
        Package(
            id=p["id"],
            supplier=sidx[p["supplier"]],
            items=tuple(
                sorted(
                    (Item(lidx[it["lot"]], int(it["quantity"]), to_cents(it["unit_price"]) or 0) for it in p["items"]),
                    key=lambda it: it.lot,
                )
            ),
            quarters=_quarter_set(p.get("quarters")),
        )
        for p in sorted(packages_doc, key=lambda p: natural_key(p["id"]))
    ]
    mw = rules.get("max_winners_per_lot")
    inst = Instance(
        suppliers=suppliers,
        capacity=capacity,
        lots=lots,
        lines=lines,
        bids=bids,
        packages=packages,
        max_winners=int(mw) if mw is not None else None,
        share=share,
        whole=rules.get("line_service", "whole") == "whole",
    )
    sources = sorted([b.id for b in bids] + [p.id for p in packages], key=natural_key)
    inst.source_rank = {s: r for r, s in enumerate(sources)}
    inst.quarterly = [
        {
            (parse_quarter(e["quarter"]) or 0, e.get("segment")): int(e["capacity"])
            for e in s.get("quarterly_capacity", [])
        }
        for s in sup_sorted
    ]
    named = [q for caps in inst.quarterly for q, _ in caps]
    named += [q for line in lines if line.window for q in line.window]
    named += [q for b in bids if b.quarters for q in b.quarters]
    named += [q for p in packages if p.quarters for q in p.quarters]
    if named:
        inst.span = (min(named), max(named))
    inst.prefer_early = bool(rules.get("prefer_early_delivery", False))
    return inst


def _window(w: Any) -> tuple[int, int] | None:
    if w is None:
        return None
    return parse_quarter(w["first"]) or 0, parse_quarter(w["last"]) or 0


def _quarter_set(qs: Any) -> frozenset[int] | None:
    return None if qs is None else frozenset(parse_quarter(q) or 0 for q in qs)

"""validate_award: every rule an award result breaks, re-derived from the raw documents.

Independent of the model, the pre-processing and the greedy: it reads the input document
directly (prices through solver.money only), recomputes vehicles and cents, and checks
each rule of the contract (docs/solver-io.md, section 2) on the result as written.

One check per rule (CHECKS, in the order their problems are listed): each is a pure function
of the read round and result, so a test can corrupt a valid result in one way and see that
the check of that rule, by name, reports it (tests/solver/test_validate_mutations.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from solver import schema
from solver.award import validate_backups
from solver.errors import Problem
from solver.money import to_cents
from solver.quarters import parse_quarter

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    """One award row as written, with where it points in the input."""

    index: int
    source: str
    supplier: str
    lot: str
    quantity: int
    cents: int | None  # None: the unit price is not a price to the cent
    allocations: list[Json]
    bid: Json | None  # the bid it names, if any
    package: Json | None  # the package it names, if any

    @property
    def path(self) -> str:
        return f"awards[{self.index}]"

    @property
    def counted(self) -> bool:
        """Rows whose vehicles and price enter the totals: a readable price and a known source."""
        return self.cents is not None and (self.bid is not None or self.package is not None)


@dataclass
class Award:
    """The round's rules and the result's rows, read once; the tallies every check shares."""

    whole: bool
    share: Decimal
    max_winners: int | None
    capacity: dict[str, int]
    lines: dict[str, tuple[str, Json]]  # line id -> (lot id, demand line)
    lot_demand: dict[str, int]
    bids: dict[str, Json]
    packages: dict[str, Json]
    result: Json
    # delivery quarters: whether the input names any, each lot's segment, each supplier's entries
    with_quarters: bool = False
    lot_segment: dict[str, str | None] = field(default_factory=dict)
    quarterly: dict[str, dict[tuple[str, str | None], int]] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    # tallies over the counted rows
    served: dict[str, int] = field(default_factory=dict)  # line -> vehicles allocated
    sources_per_line: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)  # supplier -> vehicles
    in_lot: dict[tuple[str, str], int] = field(default_factory=dict)  # (supplier, lot) -> vehicles
    winners: dict[str, set[str]] = field(default_factory=dict)  # lot -> suppliers
    vehicles: int = 0
    cents: int = 0

    def counted(self) -> list[Row]:
        return [r for r in self.rows if r.counted]


def read(doc: Json, result: Json) -> Award:
    """The round and the result (which must already match the output schema), with tallies."""
    rules = doc.get("rules") or {}
    a = Award(
        whole=rules.get("line_service", "whole") == "whole",
        share=Decimal(str(rules.get("max_share_per_supplier", 1))),
        max_winners=rules.get("max_winners_per_lot"),
        capacity={s["id"]: s["capacity"] for s in doc["suppliers"]},
        lines={d["id"]: (lot["id"], d) for lot in doc["lots"] for d in lot["demand"]},
        lot_demand={lot["id"]: sum(d["quantity"] for d in lot["demand"]) for lot in doc["lots"]},
        bids={b["id"]: b for b in doc["bids"]},
        packages={p["id"]: p for p in doc.get("packages") or []},
        result=result,
        lot_segment={lot["id"]: lot.get("segment") for lot in doc["lots"]},
        quarterly={
            s["id"]: {(e["quarter"], e.get("segment")): e["capacity"] for e in s["quarterly_capacity"]}
            for s in doc["suppliers"]
            if s.get("quarterly_capacity")
        },
    )
    a.with_quarters = (
        bool(a.quarterly)
        or any("window" in d for _, d in a.lines.values())
        or any("quarters" in src for src in (*a.bids.values(), *a.packages.values()))
    )
    for i, row in enumerate(result["awards"]):
        src = row["source"]
        a.rows.append(
            Row(
                i,
                src,
                row["supplier"],
                row["lot"],
                row["quantity"],
                to_cents(row["unit_price"]),
                list(row["allocations"]),
                a.bids.get(src),
                a.packages.get(src) if src not in a.bids else None,
            )
        )
    for r in a.counted():
        assert r.cents is not None
        for al in r.allocations:
            if al["demand"] in a.lines:
                a.served[al["demand"]] = a.served.get(al["demand"], 0) + al["quantity"]
                a.sources_per_line[al["demand"]] = a.sources_per_line.get(al["demand"], 0) + 1
        a.used[r.supplier] = a.used.get(r.supplier, 0) + r.quantity
        a.in_lot[r.supplier, r.lot] = a.in_lot.get((r.supplier, r.lot), 0) + r.quantity
        a.winners.setdefault(r.lot, set()).add(r.supplier)
        a.vehicles += r.quantity
        a.cents += r.quantity * r.cents
    return a


# -- one check per rule --------------------------------------------------------------------


def check_prices_to_the_cent(a: Award) -> list[Problem]:
    """Prices are exact to the cent."""
    return [Problem(f"{r.path}.unit_price", "not a price to the cent") for r in a.rows if r.cents is None]


def check_sources(a: Award) -> list[Problem]:
    """Every row names a bid or package of the input, of its supplier, once per lot."""
    out = []
    seen: set[tuple[str, str]] = set()
    for r in a.rows:
        if r.cents is None:
            continue
        if (r.source, r.lot) in seen:
            out.append(Problem(r.path, f"source {r.source!r} awarded twice in lot {r.lot!r}"))
        seen.add((r.source, r.lot))
        owner = r.bid or r.package
        if owner is None:
            out.append(Problem(f"{r.path}.source", f"unknown bid or package {r.source!r}"))
        elif owner["supplier"] != r.supplier:
            kind = "bid" if r.bid is not None else "package"
            out.append(Problem(f"{r.path}.supplier", f"{kind} {r.source!r} belongs to {owner['supplier']!r}"))
        if r.bid is not None and r.bid["lot"] != r.lot:
            out.append(Problem(f"{r.path}.lot", f"bid {r.source!r} is for lot {r.bid['lot']!r}"))
    return out


def check_bid_quantity_range(a: Award) -> list[Problem]:
    """A bid's awarded quantity lies in [min_quantity, max_quantity]."""
    return [
        Problem(f"{r.path}.quantity", f"outside the bid's range [{r.bid['min_quantity']}, {r.bid['max_quantity']}]")
        for r in a.counted()
        if r.bid is not None and not r.bid["min_quantity"] <= r.quantity <= r.bid["max_quantity"]
    ]


def check_tier_price(a: Award) -> list[Problem]:
    """All-units tiers: the unit price is the highest tier's reached by the awarded quantity."""
    out = []
    for r in a.counted():
        if r.bid is None:
            continue
        reached = [t for t in r.bid["tiers"] if t["min_quantity"] <= r.quantity]
        price = to_cents(max(reached, key=lambda t: t["min_quantity"])["unit_price"]) if reached else None
        if price != r.cents:
            out.append(Problem(f"{r.path}.unit_price", "is not the price of the highest tier reached by the quantity"))
    return out


def check_package_items(a: Award) -> list[Problem]:
    """A package's row is one of its items, at the item's exact quantity and unit price."""
    out = []
    for r in a.counted():
        if r.package is None:
            continue
        items = [it for it in r.package["items"] if it["lot"] == r.lot]
        if not items:
            out.append(Problem(f"{r.path}.lot", f"package {r.source!r} has no item on lot {r.lot!r}"))
        elif items[0]["quantity"] != r.quantity or to_cents(items[0]["unit_price"]) != r.cents:
            out.append(Problem(r.path, "package item must be awarded at its exact quantity and unit price"))
    return out


def check_packages_all_or_nothing(a: Award) -> list[Problem]:
    """A package is awarded on every lot of its items, or not at all."""
    lots: dict[str, set[str]] = {}
    for r in a.counted():
        if r.package is not None:
            lots.setdefault(r.source, set()).add(r.lot)
    out = []
    for src, got in lots.items():
        want = {it["lot"] for it in a.packages[src]["items"]}
        if got != want:
            out.append(
                Problem(
                    "awards",
                    f"package {src!r} is all-or-nothing: awarded on {sorted(got)}, has items on {sorted(want)}",
                )
            )
    return out


def _allocations(a: Award) -> list[tuple[Row, str, Json, tuple[str, Json] | None]]:
    """(row, path, allocation, (lot, line) or None if unknown) of every counted row."""
    return [
        (r, f"{r.path}.allocations[{j}]", al, a.lines.get(al["demand"]))
        for r in a.counted()
        for j, al in enumerate(r.allocations)
    ]


def check_allocations_in_lot(a: Award) -> list[Problem]:
    """Every awarded vehicle goes to a known demand line of the row's lot."""
    out = []
    for r, path, al, known in _allocations(a):
        if known is None:
            out.append(Problem(f"{path}.demand", f"unknown demand line {al['demand']!r}"))
        elif known[0] != r.lot:
            out.append(Problem(f"{path}.demand", f"line is in lot {known[0]!r}, not {r.lot!r}"))
    return out


def check_reserve_prices(a: Award) -> list[Problem]:
    """A line only receives vehicles priced at most its max_unit_price."""
    return [
        Problem(f"{path}.demand", "unit price above the line's maximum unit price")
        for r, path, _, known in _allocations(a)
        if known is not None and r.cents is not None and r.cents > (to_cents(known[1]["max_unit_price"]) or 0)
    ]


def check_exclusions(a: Award) -> list[Problem]:
    """A line receives no vehicle from its excluded suppliers."""
    return [
        Problem(f"{path}.demand", f"supplier {r.supplier!r} is excluded from the line")
        for r, path, _, known in _allocations(a)
        if known is not None and r.supplier in known[1].get("excluded_suppliers", [])
    ]


def check_allocations_sum(a: Award) -> list[Problem]:
    """A row's allocations sum to its awarded quantity."""
    out = []
    for r in a.counted():
        total = sum(al["quantity"] for al in r.allocations if al["demand"] in a.lines)
        if total != r.quantity:
            out.append(
                Problem(f"{r.path}.allocations", f"allocations sum to {total}, not the awarded quantity {r.quantity}")
            )
    return out


def check_line_quantity(a: Award) -> list[Problem]:
    """A line receives at most its quantity."""
    return [
        Problem("awards", f"line {line_id!r} receives {n} vehicles, more than its quantity")
        for line_id, n in a.served.items()
        if n > a.lines[line_id][1]["quantity"]
    ]


def check_whole_line_service(a: Award) -> list[Problem]:
    """line_service "whole": a line gets its whole quantity from one source, or nothing."""
    if not a.whole:
        return []
    out = [
        Problem(f"{path}.quantity", "whole line service: a line gets its whole quantity from one source")
        for _, path, al, known in _allocations(a)
        if known is not None and al["quantity"] != known[1]["quantity"]
    ]
    out += [
        Problem("awards", f"whole line service: line {line_id!r} served by {n} sources")
        for line_id, n in a.sources_per_line.items()
        if n > 1
    ]
    return out


def check_deliveries(a: Award) -> list[Problem]:
    """With delivery quarters in the input, every allocation lists its deliveries (quarters once
    each, in order) summing to its quantity; without them, none does."""
    out = []
    for _, path, al, _ in _allocations(a):
        got = al.get("deliveries")
        if not a.with_quarters:
            if got is not None:
                out.append(Problem(f"{path}.deliveries", "the input names no delivery quarter"))
            continue
        if got is None:
            out.append(Problem(f"{path}.deliveries", "is required: the input has delivery quarters"))
            continue
        order = [parse_quarter(d["quarter"]) or 0 for d in got]
        if order != sorted(set(order)):
            out.append(Problem(f"{path}.deliveries", "each quarter at most once, in order"))
        total = sum(d["quantity"] for d in got)
        if total != al["quantity"]:
            out.append(
                Problem(f"{path}.deliveries", f"deliveries sum to {total}, not the allocation's {al['quantity']}")
            )
    return out


def check_delivery_quarters(a: Award) -> list[Problem]:
    """A vehicle is delivered inside its line's window, its source's quarters and its supplier's
    listed quarters."""
    out = []
    for r, path, al, known in _allocations(a):
        if known is None:
            continue
        window = known[1].get("window")
        source = r.bid if r.bid is not None else r.package
        offered = source.get("quarters") if source is not None else None
        listed = {q for q, _ in a.quarterly.get(r.supplier, {})}
        for k, d in enumerate(al.get("deliveries") or []):
            q = parse_quarter(d["quarter"]) or 0
            where = f"{path}.deliveries[{k}].quarter"
            if window is not None and not (parse_quarter(window["first"]) or 0) <= q <= (
                parse_quarter(window["last"]) or 0
            ):
                out.append(Problem(where, f"{d['quarter']} is outside the line's window"))
            if offered is not None and d["quarter"] not in offered:
                out.append(Problem(where, f"{r.source!r} cannot deliver in {d['quarter']}"))
            if listed and d["quarter"] not in listed:
                out.append(Problem(where, f"{r.supplier!r} states no capacity for {d['quarter']}"))
    return out


def check_quarterly_capacity(a: Award) -> list[Problem]:
    """A supplier's vehicles delivered in a quarter (to lots of a segment, for a segment's entry)
    stay within its quarterly capacities."""
    delivered: dict[tuple[str, str, str | None], int] = {}
    for r, _, al, _ in _allocations(a):
        seg = a.lot_segment.get(r.lot)
        for d in al.get("deliveries") or []:
            for key in {(r.supplier, d["quarter"], None), (r.supplier, d["quarter"], seg)}:
                delivered[key] = delivered.get(key, 0) + d["quantity"]
    out = []
    for (sup, q, seg), n in sorted(delivered.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        cap = a.quarterly.get(sup, {}).get((q, seg))
        if cap is not None and n > cap:
            what = f"{seg} capacity" if seg is not None else "capacity"
            out.append(Problem("awards", f"supplier {sup!r} delivers {n} vehicles in {q}, over its {what} {cap}"))
    return out


def check_capacity(a: Award) -> list[Problem]:
    """A supplier's awarded vehicles over all bids and packages stay within its capacity."""
    out = []
    for sup, n in a.used.items():
        if sup not in a.capacity:
            out.append(Problem("awards", f"unknown supplier {sup!r}"))
        elif n > a.capacity[sup]:
            out.append(Problem("awards", f"supplier {sup!r} awarded {n} vehicles over its capacity {a.capacity[sup]}"))
    return out


def check_share_cap(a: Award) -> list[Problem]:
    """No supplier wins more than max_share_per_supplier x the lot's demand (rounded down)."""
    out = []
    for (sup, lot), n in a.in_lot.items():
        cap = math.floor(a.share * a.lot_demand.get(lot, 0))
        if n > cap:
            out.append(Problem("awards", f"supplier {sup!r} wins {n} in lot {lot!r}, over the share cap {cap}"))
    return out


def check_winners_per_lot(a: Award) -> list[Problem]:
    """At most max_winners_per_lot suppliers win in one lot."""
    if a.max_winners is None:
        return []
    return [
        Problem("awards", f"lot {lot!r} has {len(sups)} winners, more than {a.max_winners}")
        for lot, sups in a.winners.items()
        if len(sups) > a.max_winners
    ]


def check_totals(a: Award) -> list[Problem]:
    """awarded_quantity and total_price (to the cent) are the sums of the rows."""
    out = []
    res = a.result
    if res["awarded_quantity"] != a.vehicles:
        out.append(Problem("awarded_quantity", f"is {res['awarded_quantity']}, the awards sum to {a.vehicles}"))
    if to_cents(res["total_price"]) != a.cents:
        out.append(Problem("total_price", f"is {res['total_price']}, the awards sum to {Decimal(a.cents) / 100}"))
    return out


def check_unserved(a: Award) -> list[Problem]:
    """Every line lacking vehicles is listed once in `unserved` with what it lacks; no other line is."""
    out = []
    listed: dict[str, int] = {}
    for i, u in enumerate(a.result["unserved"]):
        if u["demand"] not in a.lines:
            out.append(Problem(f"unserved[{i}].demand", f"unknown demand line {u['demand']!r}"))
            continue
        if u["demand"] in listed:
            out.append(Problem(f"unserved[{i}].demand", "listed twice"))
        listed[u["demand"]] = u["quantity"]
    for line_id, (_, d) in a.lines.items():
        missing = d["quantity"] - a.served.get(line_id, 0)
        if missing > 0 and listed.get(line_id) != missing:
            out.append(
                Problem("unserved", f"line {line_id!r} lacks {missing} vehicles but lists {listed.get(line_id, 0)}")
            )
        if missing <= 0 and line_id in listed:
            out.append(Problem("unserved", f"line {line_id!r} is fully served but listed as unserved"))
    return out


def check_bounds(a: Award) -> list[Problem]:
    """The proven bounds hold for the award, and OPTIMAL means the award meets them."""
    out = []
    stats = a.result["stats"]
    bq, bp = stats["bound_quantity"], to_cents(stats["bound_price"])
    if bq < a.vehicles:
        out.append(Problem("stats.bound_quantity", f"{bq} is below the awarded {a.vehicles}"))
    if bp is None or bp > a.cents:
        out.append(Problem("stats.bound_price", "is above the total price"))
    if a.result["status"] == "OPTIMAL" and (bq != a.vehicles or bp != a.cents):
        out.append(Problem("status", "OPTIMAL but the bounds do not equal the award's vehicles and price"))
    return out


Check = Callable[[Award], list[Problem]]

CHECKS: tuple[Check, ...] = (
    check_prices_to_the_cent,
    check_sources,
    check_bid_quantity_range,
    check_tier_price,
    check_package_items,
    check_packages_all_or_nothing,
    check_allocations_in_lot,
    check_reserve_prices,
    check_exclusions,
    check_allocations_sum,
    check_line_quantity,
    check_whole_line_service,
    check_capacity,
    check_deliveries,
    check_delivery_quarters,
    check_quarterly_capacity,
    check_share_cap,
    check_winners_per_lot,
    check_totals,
    check_unserved,
    check_bounds,
    # the backups (solver.award.validate_backups)
    *validate_backups.CHECKS,
)


def validate_award(doc: Json, result: Json) -> list[Problem]:
    """Every rule the result breaks, [] if valid: first its shape (the output schema: e.g. an
    unserved line without a reason), then each check of CHECKS."""
    problems = schema.check(result, "award-output")
    if problems:
        return problems
    a = read(doc, result)
    return [p for check in CHECKS for p in check(a)]

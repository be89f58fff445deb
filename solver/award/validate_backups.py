"""The validator's checks of an award result's `backups` (contract section 2, "Backups").

Independent of solver.award.backups: each check reads the input document and the result as
written (the award rows, the backups), re-derives what the withdrawn supplier served and what
every other supplier and bid already has, and checks one rule. They take the same `Award`
(solver.award.validate.read) as every other check and are part of its CHECKS; a result
without `backups` (rules.backups: false) has nothing to check. Whether a backup is the best
one is not checked here (that needs a search): tests/solver/test_backups.py compares them
with exhaustive enumeration on tiny rounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from solver.errors import Problem
from solver.money import to_cents
from solver.quarters import parse_quarter

if TYPE_CHECKING:
    from solver.award.validate import Award

Json = dict[str, Any]


def _entries(a: Award) -> Iterator[tuple[str, Json]]:
    for i, b in enumerate(a.result.get("backups") or []):
        yield f"backups[{i}]", b


def _rows(a: Award) -> Iterator[tuple[str, Json, str, Json]]:
    """(entry path, entry, row path, replacement row) of every backup."""
    for path, b in _entries(a):
        for j, r in enumerate(b["replacement"]):
            yield path, b, f"{path}.replacement[{j}]", r


def _freed(a: Award, lot: str, supplier: str) -> dict[str, int]:
    """Line -> vehicles the supplier's award rows give it in the lot."""
    out: dict[str, int] = {}
    for r in a.counted():
        if r.supplier == supplier and r.lot == lot:
            for al in r.allocations:
                if al["demand"] in a.lines:
                    out[al["demand"]] = out.get(al["demand"], 0) + al["quantity"]
    return out


def _awarded(a: Award, source: str) -> int:
    return sum(r.quantity for r in a.counted() if r.source == source)


def check_backup_entries(a: Award) -> list[Problem]:
    """One backup per (lot, winning supplier), stating the vehicles that supplier wins in the lot."""
    if "backups" not in a.result:
        return []
    out = []
    seen: set[tuple[str, str]] = set()
    for path, b in _entries(a):
        key = (b["lot"], b["withdrawn"])
        if key in seen:
            out.append(Problem(path, f"a second backup for {b['withdrawn']!r} in lot {b['lot']!r}"))
        seen.add(key)
        won = a.in_lot.get((b["withdrawn"], b["lot"]))
        if won is None:
            out.append(Problem(path, f"{b['withdrawn']!r} wins nothing in lot {b['lot']!r}"))
        elif b["quantity"] != won:
            out.append(Problem(f"{path}.quantity", f"is {b['quantity']}, {b['withdrawn']!r} wins {won} in the lot"))
    for (sup, lot), _ in sorted(a.in_lot.items()):
        if (lot, sup) not in seen:
            out.append(Problem("backups", f"no backup for {sup!r} in lot {lot!r}"))
    return out


def check_backup_sources(a: Award) -> list[Problem]:
    """A replacement is a bid of another supplier in the same lot (no package), once per backup."""
    out = []
    for path, b in _entries(a):
        seen: set[str] = set()
        for j, r in enumerate(b["replacement"]):
            p = f"{path}.replacement[{j}]"
            bid = a.bids.get(r["source"])
            if r["source"] in seen:
                out.append(Problem(f"{p}.source", f"bid {r['source']!r} listed twice"))
            seen.add(r["source"])
            if bid is None:
                out.append(Problem(f"{p}.source", f"{r['source']!r} is not a bid of the input"))
                continue
            if bid["supplier"] != r["supplier"]:
                out.append(Problem(f"{p}.supplier", f"bid {r['source']!r} belongs to {bid['supplier']!r}"))
            if bid["lot"] != b["lot"]:
                out.append(Problem(f"{p}.source", f"bid {r['source']!r} is for lot {bid['lot']!r}, not {b['lot']!r}"))
            if r["supplier"] == b["withdrawn"]:
                out.append(Problem(f"{p}.supplier", "the withdrawn supplier cannot replace itself"))
    return out


def check_backup_tier_price(a: Award) -> list[Problem]:
    """The bid's total (awarded + backup) stays in its range; the backup's unit price is the tier
    that total reaches."""
    out = []
    for _, _, p, r in _rows(a):
        bid = a.bids.get(r["source"])
        if bid is None:
            continue
        total = _awarded(a, r["source"]) + r["quantity"]
        if not bid["min_quantity"] <= total <= bid["max_quantity"]:
            out.append(
                Problem(
                    f"{p}.quantity",
                    f"the bid's total {total} is outside its range [{bid['min_quantity']}, {bid['max_quantity']}]",
                )
            )
        reached = [t for t in bid["tiers"] if t["min_quantity"] <= total]
        price = to_cents(max(reached, key=lambda t: t["min_quantity"])["unit_price"]) if reached else None
        if price is None or price != to_cents(r["unit_price"]):
            out.append(Problem(f"{p}.unit_price", f"is not the price of the tier reached by the bid's total {total}"))
    return out


def check_backup_allocations(a: Award) -> list[Problem]:
    """Backup vehicles go to the lines the withdrawn supplier served in the lot, at most what it
    gave each, summing to the row's quantity, within reserve prices and exclusions; whole line
    service: each line whole, from one source."""
    out = []
    for path, b in _entries(a):
        freed = _freed(a, b["lot"], b["withdrawn"])
        got: dict[str, int] = {}
        sources: dict[str, int] = {}
        for j, r in enumerate(b["replacement"]):
            p = f"{path}.replacement[{j}]"
            cents = to_cents(r["unit_price"])
            if sum(al["quantity"] for al in r["allocations"]) != r["quantity"]:
                out.append(Problem(f"{p}.allocations", f"do not sum to the quantity {r['quantity']}"))
            for k, al in enumerate(r["allocations"]):
                ap = f"{p}.allocations[{k}].demand"
                line_id = al["demand"]
                if line_id not in freed:
                    out.append(Problem(ap, f"{b['withdrawn']!r} serves no line {line_id!r} in lot {b['lot']!r}"))
                    continue
                got[line_id] = got.get(line_id, 0) + al["quantity"]
                sources[line_id] = sources.get(line_id, 0) + 1
                line = a.lines[line_id][1]
                if cents is None or cents > (to_cents(line["max_unit_price"]) or 0):
                    out.append(Problem(ap, "unit price above the line's maximum unit price"))
                if r["supplier"] in line.get("excluded_suppliers", []):
                    out.append(Problem(ap, f"supplier {r['supplier']!r} is excluded from the line"))
                if a.whole and al["quantity"] != line["quantity"]:
                    out.append(Problem(ap, "whole line service: a line gets its whole quantity from one source"))
        for line_id, n in got.items():
            if n > freed[line_id]:
                out.append(
                    Problem(
                        path, f"line {line_id!r} gets {n} vehicles, the withdrawn supplier gave it {freed[line_id]}"
                    )
                )
            if a.whole and sources[line_id] > 1:
                out.append(Problem(path, f"whole line service: line {line_id!r} served by {sources[line_id]} sources"))
    return out


def check_backup_capacity(a: Award) -> list[Problem]:
    """A replacing supplier stays within its remaining capacity and its share cap in the lot."""
    out = []
    for path, b in _entries(a):
        cap = math.floor(a.share * a.lot_demand.get(b["lot"], 0))
        for j, r in enumerate(b["replacement"]):
            p = f"{path}.replacement[{j}]"
            sup = r["supplier"]
            used = a.used.get(sup, 0) + r["quantity"]
            if sup not in a.capacity or used > a.capacity[sup]:
                out.append(Problem(f"{p}.quantity", f"{sup!r} would deliver {used}, over its capacity"))
            in_lot = a.in_lot.get((sup, b["lot"]), 0) + r["quantity"]
            if in_lot > cap:
                out.append(
                    Problem(
                        f"{p}.quantity", f"{sup!r} would win {in_lot} in lot {b['lot']!r}, over the share cap {cap}"
                    )
                )
    return out


def check_backup_winners(a: Award) -> list[Problem]:
    """The suppliers still winning in the lot and the new ones stay within max_winners_per_lot."""
    if a.max_winners is None:
        return []
    out = []
    for path, b in _entries(a):
        after = (a.winners.get(b["lot"], set()) - {b["withdrawn"]}) | {r["supplier"] for r in b["replacement"]}
        if len(after) > a.max_winners:
            out.append(Problem(path, f"lot {b['lot']!r} would have {len(after)} winners, more than {a.max_winners}"))
    return out


def check_backup_totals(a: Award) -> list[Problem]:
    """covered_quantity and total_price (to the cent) are the sums of the replacement, at most the
    vehicles withdrawn."""
    out = []
    for path, b in _entries(a):
        vehicles = sum(r["quantity"] for r in b["replacement"])
        prices = [to_cents(r["unit_price"]) for r in b["replacement"]]
        if b["covered_quantity"] != vehicles:
            out.append(
                Problem(f"{path}.covered_quantity", f"is {b['covered_quantity']}, the replacement sums to {vehicles}")
            )
        if vehicles > b["quantity"]:
            out.append(Problem(f"{path}.covered_quantity", f"{vehicles} is more than the {b['quantity']} withdrawn"))
        if any(c is None for c in prices):
            out.append(Problem(path, "a replacement's unit price is not a price to the cent"))
            continue
        cents = sum(r["quantity"] * (c or 0) for r, c in zip(b["replacement"], prices, strict=True))
        if to_cents(b["total_price"]) != cents:
            out.append(
                Problem(f"{path}.total_price", f"is {b['total_price']}, the replacement sums to {Decimal(cents) / 100}")
            )
    return out


def check_backup_deliveries(a: Award) -> list[Problem]:
    """With delivery quarters, each backup allocation lists its deliveries (quarters once each,
    in order) summing to its quantity, inside the line's window, the bid's quarters and the
    supplier's listed quarters; the award's deliveries plus the backup's stay within every
    quarterly capacity. Without quarters, no backup allocation has deliveries."""
    out = []
    award_load: dict[tuple[str, str, str | None], int] = {}
    for r in a.counted():
        seg = a.lot_segment.get(r.lot)
        for al in r.allocations:
            for d in al.get("deliveries") or []:
                for key in {(r.supplier, d["quarter"], None), (r.supplier, d["quarter"], seg)}:
                    award_load[key] = award_load.get(key, 0) + d["quantity"]
    for path, b in _entries(a):
        seg = a.lot_segment.get(b["lot"])
        load: dict[tuple[str, str, str | None], int] = {}
        for j, r in enumerate(b["replacement"]):
            bid = a.bids.get(r["source"]) or {}
            listed = {q for q, _ in a.quarterly.get(r["supplier"], {})}
            for k, al in enumerate(r["allocations"]):
                p = f"{path}.replacement[{j}].allocations[{k}].deliveries"
                got = al.get("deliveries")
                if not a.with_quarters:
                    if got is not None:
                        out.append(Problem(p, "the input names no delivery quarter"))
                    continue
                if got is None:
                    out.append(Problem(p, "is required: the input has delivery quarters"))
                    continue
                order = [parse_quarter(d["quarter"]) or 0 for d in got]
                if order != sorted(set(order)):
                    out.append(Problem(p, "each quarter at most once, in order"))
                if sum(d["quantity"] for d in got) != al["quantity"]:
                    out.append(Problem(p, f"do not sum to the allocation's {al['quantity']}"))
                window = a.lines[al["demand"]][1].get("window") if al["demand"] in a.lines else None
                for d in got:
                    q = parse_quarter(d["quarter"]) or 0
                    if window is not None and not (
                        (parse_quarter(window["first"]) or 0) <= q <= (parse_quarter(window["last"]) or 0)
                    ):
                        out.append(Problem(p, f"{d['quarter']} is outside the line's window"))
                    if bid.get("quarters") is not None and d["quarter"] not in bid["quarters"]:
                        out.append(Problem(p, f"{r['source']!r} cannot deliver in {d['quarter']}"))
                    if listed and d["quarter"] not in listed:
                        out.append(Problem(p, f"{r['supplier']!r} states no capacity for {d['quarter']}"))
                    for key in {(r["supplier"], d["quarter"], None), (r["supplier"], d["quarter"], seg)}:
                        load[key] = load.get(key, 0) + d["quantity"]
        for (sup, quarter, sg), n in sorted(load.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
            cap = a.quarterly.get(sup, {}).get((quarter, sg))
            if cap is not None and award_load.get((sup, quarter, sg), 0) + n > cap:
                what = f"{sg} capacity" if sg is not None else "capacity"
                out.append(
                    Problem(
                        path,
                        f"{sup!r} would deliver {award_load.get((sup, quarter, sg), 0) + n} in {quarter}, over its {what} {cap}",
                    )
                )
    return out


CHECKS = (
    check_backup_entries,
    check_backup_sources,
    check_backup_tier_price,
    check_backup_allocations,
    check_backup_capacity,
    check_backup_winners,
    check_backup_totals,
    check_backup_deliveries,
)

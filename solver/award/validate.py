"""validate_award: every rule an award result breaks, re-derived from the raw documents.

Independent of the model, the pre-processing and the greedy: it reads the input document
directly (prices through solver.money only), recomputes vehicles and cents, and checks
each rule of contract section 2 on the result as written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from solver import schema
from solver.errors import Problem
from solver.money import to_cents


def validate_award(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    problems = schema.check(result, "award-output")
    if problems:
        return problems
    out: list[Problem] = []

    def bad(path: str, msg: str) -> None:
        out.append(Problem(path, msg))

    rules = doc.get("rules") or {}
    whole = rules.get("line_service", "whole") == "whole"
    share = Decimal(str(rules.get("max_share_per_supplier", 1)))
    max_winners = rules.get("max_winners_per_lot")
    capacity = {s["id"]: s["capacity"] for s in doc["suppliers"]}
    lines: dict[str, tuple[str, dict[str, Any]]] = {}
    lot_demand: dict[str, int] = {}
    for lot in doc["lots"]:
        lot_demand[lot["id"]] = sum(d["quantity"] for d in lot["demand"])
        for d in lot["demand"]:
            lines[d["id"]] = (lot["id"], d)
    bids = {b["id"]: b for b in doc["bids"]}
    packages = {p["id"]: p for p in doc.get("packages") or []}

    served: dict[str, int] = {}
    sources_per_line: dict[str, int] = {}
    used: dict[str, int] = {}
    in_lot: dict[tuple[str, str], int] = {}
    winners: dict[str, set[str]] = {}
    seen_rows: set[tuple[str, str]] = set()
    pkg_rows: dict[str, set[str]] = {}
    vehicles = 0
    cents = 0
    for i, row in enumerate(result["awards"]):
        p = f"awards[{i}]"
        src, sup, lot, q = row["source"], row["supplier"], row["lot"], row["quantity"]
        price = to_cents(row["unit_price"])
        if price is None:
            bad(f"{p}.unit_price", "not a price to the cent")
            continue
        if (src, lot) in seen_rows:
            bad(p, f"source {src!r} awarded twice in lot {lot!r}")
        seen_rows.add((src, lot))
        if src in bids:
            b = bids[src]
            if b["supplier"] != sup:
                bad(f"{p}.supplier", f"bid {src!r} belongs to {b['supplier']!r}")
            if b["lot"] != lot:
                bad(f"{p}.lot", f"bid {src!r} is for lot {b['lot']!r}")
            if not b["min_quantity"] <= q <= b["max_quantity"]:
                bad(f"{p}.quantity", f"outside the bid's range [{b['min_quantity']}, {b['max_quantity']}]")
            applicable = [t for t in b["tiers"] if t["min_quantity"] <= q]
            tier_price = (
                to_cents(max(applicable, key=lambda t: t["min_quantity"])["unit_price"]) if applicable else None
            )
            if tier_price != price:
                bad(f"{p}.unit_price", "is not the price of the highest tier reached by the quantity")
        elif src in packages:
            pk = packages[src]
            if pk["supplier"] != sup:
                bad(f"{p}.supplier", f"package {src!r} belongs to {pk['supplier']!r}")
            items = [it for it in pk["items"] if it["lot"] == lot]
            if not items:
                bad(f"{p}.lot", f"package {src!r} has no item on lot {lot!r}")
            elif items[0]["quantity"] != q or to_cents(items[0]["unit_price"]) != price:
                bad(p, "package item must be awarded at its exact quantity and unit price")
            pkg_rows.setdefault(src, set()).add(lot)
        else:
            bad(f"{p}.source", f"unknown bid or package {src!r}")
            continue
        total = 0
        for j, a in enumerate(row["allocations"]):
            ap = f"{p}.allocations[{j}]"
            if a["demand"] not in lines:
                bad(f"{ap}.demand", f"unknown demand line {a['demand']!r}")
                continue
            line_lot, d = lines[a["demand"]]
            if line_lot != lot:
                bad(f"{ap}.demand", f"line is in lot {line_lot!r}, not {lot!r}")
            if price > to_cents(d["max_unit_price"]):
                bad(f"{ap}.demand", "unit price above the line's maximum unit price")
            if sup in d.get("excluded_suppliers", []):
                bad(f"{ap}.demand", f"supplier {sup!r} is excluded from the line")
            if whole and a["quantity"] != d["quantity"]:
                bad(f"{ap}.quantity", "whole line service: a line gets its whole quantity from one source")
            served[a["demand"]] = served.get(a["demand"], 0) + a["quantity"]
            sources_per_line[a["demand"]] = sources_per_line.get(a["demand"], 0) + 1
            total += a["quantity"]
        if total != q:
            bad(f"{p}.allocations", f"allocations sum to {total}, not the awarded quantity {q}")
        used[sup] = used.get(sup, 0) + q
        in_lot[sup, lot] = in_lot.get((sup, lot), 0) + q
        winners.setdefault(lot, set()).add(sup)
        vehicles += q
        cents += q * price

    for src, lots in pkg_rows.items():
        want = {it["lot"] for it in packages[src]["items"]}
        if lots != want:
            bad("awards", f"package {src!r} is all-or-nothing: awarded on {sorted(lots)}, has items on {sorted(want)}")
    for line_id, n in served.items():
        if n > lines[line_id][1]["quantity"]:
            bad("awards", f"line {line_id!r} receives {n} vehicles, more than its quantity")
        if whole and sources_per_line[line_id] > 1:
            bad("awards", f"whole line service: line {line_id!r} served by {sources_per_line[line_id]} sources")
    for sup, n in used.items():
        if sup not in capacity:
            bad("awards", f"unknown supplier {sup!r}")
        elif n > capacity[sup]:
            bad("awards", f"supplier {sup!r} awarded {n} vehicles over its capacity {capacity[sup]}")
    for (sup, lot), n in in_lot.items():
        cap = math.floor(share * lot_demand.get(lot, 0))
        if n > cap:
            bad("awards", f"supplier {sup!r} wins {n} in lot {lot!r}, over the share cap {cap}")
    if max_winners is not None:
        for lot, sups in winners.items():
            if len(sups) > max_winners:
                bad("awards", f"lot {lot!r} has {len(sups)} winners, more than {max_winners}")

    if result["awarded_quantity"] != vehicles:
        bad("awarded_quantity", f"is {result['awarded_quantity']}, the awards sum to {vehicles}")
    if to_cents(result["total_price"]) != cents:
        bad("total_price", f"is {result['total_price']}, the awards sum to {Decimal(cents) / 100}")

    listed: dict[str, int] = {}
    for i, u in enumerate(result["unserved"]):
        if u["demand"] not in lines:
            bad(f"unserved[{i}].demand", f"unknown demand line {u['demand']!r}")
            continue
        if u["demand"] in listed:
            bad(f"unserved[{i}].demand", "listed twice")
        listed[u["demand"]] = u["quantity"]
    for line_id, (_, d) in lines.items():
        missing = d["quantity"] - served.get(line_id, 0)
        if missing > 0 and listed.get(line_id) != missing:
            bad("unserved", f"line {line_id!r} lacks {missing} vehicles but lists {listed.get(line_id, 0)}")
        if missing <= 0 and line_id in listed:
            bad("unserved", f"line {line_id!r} is fully served but listed as unserved")

    stats = result["stats"]
    bq, bp = stats["bound_quantity"], to_cents(stats["bound_price"])
    if bq < vehicles:
        bad("stats.bound_quantity", f"{bq} is below the awarded {vehicles}")
    if bp is None or bp > cents:
        bad("stats.bound_price", "is above the total price")
    if result["status"] == "OPTIMAL" and (bq != vehicles or bp != cents):
        bad("status", "OPTIMAL but the bounds do not equal the award's vehicles and price")
    return out

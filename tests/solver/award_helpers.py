"""Independent references for the award: an exhaustive enumerator and a HiGHS MIP.

Both read the raw input document (prices via Decimal, not solver internals) and know
nothing of solver.award's pre-processing or model, so agreeing with them means something.
The HiGHS model is also the benchmark's reference (bench/award.py imports it).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from decimal import Decimal
from typing import Any


def cents(x: Any) -> int:
    d = Decimal(str(x)) * 100
    assert d == d.to_integral_value(), x
    return int(d)


def _sources(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Flattened view: bids with tier bands, package items, lot demand, caps."""
    rules = doc.get("rules") or {}
    share = Decimal(str(rules.get("max_share_per_supplier", 1)))
    lots = {lot["id"]: lot for lot in doc["lots"]}
    info = {
        "whole": rules.get("line_service", "whole") == "whole",
        "max_winners": rules.get("max_winners_per_lot"),
        "cap": {s["id"]: s["capacity"] for s in doc["suppliers"]},
        "share_cap": {lid: math.floor(share * sum(d["quantity"] for d in lot["demand"])) for lid, lot in lots.items()},
        "lots": lots,
    }
    return [], info


def tier_price(bid: dict[str, Any], q: int) -> int:
    best = None
    for t in bid["tiers"]:
        if t["min_quantity"] <= q:
            best = cents(t["unit_price"])
    assert best is not None
    return best


def _quarter(text: str) -> int:
    return int(text[:4]) * 4 + int(text[5]) - 1


def has_quarters(doc: dict[str, Any]) -> bool:
    return (
        any(s.get("quarterly_capacity") for s in doc["suppliers"])
        or any("window" in d for lot in doc["lots"] for d in lot["demand"])
        or any("quarters" in src for src in (*doc["bids"], *(doc.get("packages") or [])))
    )


def allowed_quarters(doc: dict[str, Any], line: dict[str, Any], supplier: str, source: dict[str, Any]) -> list[int]:
    """Quarters a vehicle of `line` from `source` may come in, read from the raw document."""
    named = [_quarter(e["quarter"]) for s in doc["suppliers"] for e in s.get("quarterly_capacity") or []]
    named += [
        _quarter(d["window"][k])
        for lot in doc["lots"]
        for d in lot["demand"]
        if "window" in d
        for k in ("first", "last")
    ]
    named += [_quarter(q) for src in (*doc["bids"], *(doc.get("packages") or [])) for q in src.get("quarters") or []]
    lo, hi = min(named), max(named)
    if "window" in line:
        lo, hi = _quarter(line["window"]["first"]), _quarter(line["window"]["last"])
    caps = next(s.get("quarterly_capacity") for s in doc["suppliers"] if s["id"] == supplier)
    listed = {_quarter(e["quarter"]) for e in caps} if caps else None
    offered = {_quarter(q) for q in source["quarters"]} if "quarters" in source else None
    return [q for q in range(lo, hi + 1) if (listed is None or q in listed) and (offered is None or q in offered)]


def quarter_caps(doc: dict[str, Any]) -> dict[str, dict[tuple[int, str | None], int]]:
    return {
        s["id"]: {(_quarter(e["quarter"]), e.get("segment")): e["capacity"] for e in s["quarterly_capacity"]}
        for s in doc["suppliers"]
        if s.get("quarterly_capacity")
    }


def _generic_max_flow(arcs: list[tuple[Any, Any, int]], source: Any, sink: Any) -> int:
    graph: dict[Any, dict[Any, int]] = {source: {}, sink: {}}
    for u, v, c in arcs:
        graph.setdefault(u, {})
        graph.setdefault(v, {})
        graph[u][v] = graph[u].get(v, 0) + c
        graph[v].setdefault(u, 0)
    flow = 0
    while True:
        parent: dict[Any, Any] = {source: None}
        queue = [source]
        while queue and sink not in parent:
            u = queue.pop(0)
            for v, c in graph[u].items():
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if sink not in parent:
            return flow
        v, push = sink, 1 << 60
        while parent[v] is not None:
            push = min(push, graph[parent[v]][v])
            v = parent[v]
        v = sink
        while parent[v] is not None:
            u = parent[v]
            graph[u][v] -= push
            graph[v][u] += push
            v = u
        flow += push


def deliverable(doc: dict[str, Any], allocs: list[tuple[str, str, dict[str, Any], dict[str, Any], int]]) -> bool:
    """Whether allocations (supplier, lot, line, source document, vehicles) can all be delivered
    within the quarterly capacities: a max flow allocation -> (quarter, segment) -> quarter -> sink."""
    caps = quarter_caps(doc)
    segment = {lot["id"]: lot.get("segment") for lot in doc["lots"]}
    arcs: list[tuple[Any, Any, int]] = []
    total = 0
    for i, (sup, lot, line, src, v) in enumerate(allocs):
        qs = allowed_quarters(doc, line, sup, src)
        if not qs:
            return False
        total += v
        arcs.append(("S", ("a", i), v))
        for q in qs:
            seg = segment[lot]
            if sup in caps and seg is not None and (q, seg) in caps[sup]:
                arcs.append((("a", i), ("s", sup, q, seg), v))
            else:
                arcs.append((("a", i), ("q", sup, q), v))
    for sup, entries in caps.items():
        for (q, seg), c in entries.items():
            if seg is not None:
                arcs.append((("s", sup, q, seg), ("q", sup, q), c))
    quarters_seen = {(a[1][1], a[1][2]) for a in arcs if isinstance(a[1], tuple) and a[1][0] == "q"}
    for sup, q in quarters_seen:
        arcs.append((("q", sup, q), "T", caps.get(sup, {}).get((q, None), 1 << 40)))
    return _generic_max_flow(arcs, "S", "T") == total


# --------------------------------------------------------------------------------------
# Exhaustive enumeration (tiny instances only)
# --------------------------------------------------------------------------------------


def _max_flow(cap_src: dict[str, int], edges: dict[str, list[str]], cap_line: dict[str, int]) -> int:
    """Max flow source -> sources (cap_src) -> lines (edges, unbounded) -> sink (cap_line)."""
    graph: dict[Any, dict[Any, int]] = {"S": {}, "T": {}}

    def add(u: Any, v: Any, c: int) -> None:
        graph.setdefault(u, {})
        graph.setdefault(v, {})
        graph[u][v] = graph[u].get(v, 0) + c
        graph[v].setdefault(u, 0)

    for s, c in cap_src.items():
        add("S", ("s", s), c)
        for line in edges.get(s, []):
            add(("s", s), ("l", line), c)
    for line, c in cap_line.items():
        add(("l", line), "T", c)
    flow = 0
    while True:
        parent = {"S": None}
        queue = ["S"]
        while queue and "T" not in parent:
            u = queue.pop(0)
            for v, c in graph[u].items():
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if "T" not in parent:
            return flow
        v, push = "T", 1 << 60
        while parent[v] is not None:
            push = min(push, graph[parent[v]][v])
            v = parent[v]
        v = "T"
        while parent[v] is not None:
            u = parent[v]
            graph[u][v] -= push
            graph[v][u] += push
            v = u
        flow += push


def brute_force(doc: dict[str, Any], at_least: int | None = None) -> tuple[int, int]:
    """(most vehicles, lowest cents among those) over every award, by exhaustive enumeration; with
    `at_least`: (its vehicles, cents) of the cheapest award with at least that many vehicles."""
    _, info = _sources(doc)
    lots = info["lots"]
    lines = {d["id"]: (lot_id, d) for lot_id, lot in lots.items() for d in lot["demand"]}
    bids = doc["bids"]
    packages = doc.get("packages") or []
    best = (0, 0)
    bid_choices = [[0, *range(b["min_quantity"], b["max_quantity"] + 1)] for b in bids]
    for on in itertools.product([0, 1], repeat=len(packages)):
        for qs in itertools.product(*bid_choices):
            # sources with a fixed quantity and price
            srcs = []
            for b, q in zip(bids, qs, strict=True):
                if q:
                    srcs.append((b["id"], b["supplier"], b["lot"], q, tier_price(b, q)))
            for p, flag in zip(packages, on, strict=True):
                if flag:
                    for k, it in enumerate(p["items"]):
                        srcs.append(
                            (f"{p['id']}#{k}", p["supplier"], it["lot"], it["quantity"], cents(it["unit_price"]))
                        )
            vehicles = sum(s[3] for s in srcs)
            price = sum(s[3] * s[4] for s in srcs)
            if at_least is None and (vehicles, -price) <= (best[0], -best[1]):
                continue
            if at_least is not None and (vehicles < at_least or (best[0] >= at_least and price >= best[1])):
                continue
            if not _rules_ok(srcs, info):
                continue
            ok = _allocatable_quarters(doc, srcs, info) if has_quarters(doc) else _allocatable(srcs, lines, info)
            if ok:
                best = (vehicles, price)
    return best


def _rules_ok(srcs: list[tuple], info: dict[str, Any]) -> bool:
    used: dict[str, int] = {}
    in_lot: dict[tuple[str, str], int] = {}
    winners: dict[str, set[str]] = {}
    for _, sup, lot, q, _ in srcs:
        used[sup] = used.get(sup, 0) + q
        in_lot[sup, lot] = in_lot.get((sup, lot), 0) + q
        winners.setdefault(lot, set()).add(sup)
    if any(n > info["cap"][s] for s, n in used.items()):
        return False
    if any(n > info["share_cap"][lot] for (_, lot), n in in_lot.items()):
        return False
    mw = info["max_winners"]
    return mw is None or all(len(w) <= mw for w in winners.values())


def _ok_pair(src: tuple, line: dict[str, Any]) -> bool:
    return src[4] <= cents(line["max_unit_price"]) and src[1] not in line.get("excluded_suppliers", [])


def _allocatable(srcs: list[tuple], lines: dict[str, Any], info: dict[str, Any]) -> bool:
    by_lot: dict[str, list[tuple]] = {}
    for s in srcs:
        by_lot.setdefault(s[2], []).append(s)
    for lot, ss in by_lot.items():
        lot_lines = [d for d in info["lots"][lot]["demand"]]
        if info["whole"]:
            # assign each line to one source or none; each source's lines sum exactly to its quantity
            options = [[None] + [i for i, s in enumerate(ss) if _ok_pair(s, d)] for d in lot_lines]
            found = False
            for assign in itertools.product(*options):
                tot = [0] * len(ss)
                for d, a in zip(lot_lines, assign, strict=True):
                    if a is not None:
                        tot[a] += d["quantity"]
                if all(t == s[3] for t, s in zip(tot, ss, strict=True)):
                    found = True
                    break
            if not found:
                return False
        else:
            cap_src = {s[0]: s[3] for s in ss}
            edges = {s[0]: [d["id"] for d in lot_lines if _ok_pair(s, d)] for s in ss}
            cap_line = {d["id"]: d["quantity"] for d in lot_lines}
            if _max_flow(cap_src, edges, cap_line) != sum(cap_src.values()):
                return False
    return True


def _allocatable_quarters(doc: dict[str, Any], srcs: list[tuple], info: dict[str, Any]) -> bool:
    """Whole line service with delivery quarters: every way to give each lot's lines to its
    sources (each source's lines summing to its quantity), tried together with the other lots'
    ways, until one can be delivered within the quarterly capacities."""
    assert info["whole"], "brute force with quarters covers whole line service"
    by_id = {b["id"]: b for b in doc["bids"]}
    for p in doc.get("packages") or []:
        for k in range(len(p["items"])):
            by_id[f"{p['id']}#{k}"] = p
    by_lot: dict[str, list[tuple]] = {}
    for s in srcs:
        by_lot.setdefault(s[2], []).append(s)
    per_lot = []
    for lot, ss in by_lot.items():
        lot_lines = info["lots"][lot]["demand"]
        options = [
            [None] + [i for i, s in enumerate(ss) if _ok_pair(s, d) and allowed_quarters(doc, d, s[1], by_id[s[0]])]
            for d in lot_lines
        ]
        ways = []
        for assign in itertools.product(*options):
            tot = [0] * len(ss)
            for d, a in zip(lot_lines, assign, strict=True):
                if a is not None:
                    tot[a] += d["quantity"]
            if all(t == s[3] for t, s in zip(tot, ss, strict=True)):
                ways.append(
                    [
                        (ss[a][1], lot, d, by_id[ss[a][0]], d["quantity"])
                        for d, a in zip(lot_lines, assign, strict=True)
                        if a is not None
                    ]
                )
        if not ways:
            return False
        per_lot.append(ways)
    return any(deliverable(doc, [x for way in combo for x in way]) for combo in itertools.product(*per_lot))


def add_quarters(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    """The round with delivery quarters: segments, windows, source quarters and quarterly
    capacities (some per segment), drawn over 2027Q1-2027Q3."""
    qs = ["2027Q1", "2027Q2", "2027Q3"]
    segments = ["bus", "truck"]
    for lot in doc["lots"]:
        if rng.random() < 0.7:
            lot["segment"] = rng.choice(segments)
        for d in lot["demand"]:
            if rng.random() < 0.7:
                a, b = sorted(rng.sample(range(3), 2)) if rng.random() < 0.7 else (rng.randrange(3),) * 2
                d["window"] = {"first": qs[a], "last": qs[b]}
    for src in (*doc["bids"], *(doc.get("packages") or [])):
        if rng.random() < 0.35:
            src["quarters"] = sorted(rng.sample(qs, rng.randint(1, 2)))
    for s in doc["suppliers"]:
        if rng.random() < 0.75:
            entries = [{"quarter": q, "capacity": rng.randint(0, 7)} for q in qs if rng.random() < 0.8]
            entries += [
                {"quarter": q, "segment": rng.choice(segments), "capacity": rng.randint(0, 4)}
                for q in qs
                if rng.random() < 0.3
            ]
            if entries:
                s["quarterly_capacity"] = entries
    if rng.random() < 0.5:
        doc["rules"]["prefer_early_delivery"] = True
    return doc


def equal_prices(doc: dict[str, Any], price: float = 100) -> dict[str, Any]:
    """Every bid tier's and package item's unit price `price` (in place): ties are the rule."""
    for b in doc["bids"]:
        for t in b["tiers"]:
            t["unit_price"] = price
    for p in doc.get("packages") or []:
        for it in p["items"]:
            it["unit_price"] = price
    return doc


def tiny_round(rng: random.Random, *, whole: bool | None = None, max_lines: int = 6) -> dict[str, Any]:
    """A random tiny round for brute force: 1-3 lots, <= max_lines lines, 2-3 suppliers."""
    n_lots = rng.randint(1, 3)
    n_sup = rng.randint(1, 3)
    sups = [f"s{i}" for i in range(n_sup)]
    lots = []
    budget = max_lines
    for i in range(n_lots):
        k = rng.randint(1, max(1, min(3, budget - (n_lots - i - 1))))
        budget -= k
        lots.append(
            {
                "id": f"L{i}",
                "demand": [
                    {
                        "id": f"L{i}d{j}",
                        "quantity": rng.randint(1, 4),
                        "max_unit_price": rng.choice([90, 100, 100.5, 110, 120]),
                        "excluded_suppliers": [rng.choice(sups)] if rng.random() < 0.15 else [],
                    }
                    for j in range(k)
                ],
            }
        )
    bids = []
    for s in sups:
        for lot in lots:
            if rng.random() < 0.55:
                bmin = rng.randint(1, 3)
                bmax = bmin + rng.randint(0, 4)
                tiers = [{"min_quantity": bmin, "unit_price": rng.choice([85, 95, 100, 105, 112.25])}]
                q = bmin
                for _ in range(rng.randint(0, 2)):
                    q += rng.randint(1, 3)
                    tiers.append(
                        {"min_quantity": q, "unit_price": round(tiers[-1]["unit_price"] - rng.randint(1, 8), 2)}
                    )
                bids.append(
                    {
                        "id": f"b-{s}-{lot['id']}",
                        "supplier": s,
                        "lot": lot["id"],
                        "min_quantity": bmin,
                        "max_quantity": bmax,
                        "tiers": tiers,
                    }
                )
    packages = []
    for k in range(rng.randint(0, 2)):
        chosen = rng.sample(lots, rng.randint(1, len(lots)))
        packages.append(
            {
                "id": f"p{k}",
                "supplier": rng.choice(sups),
                "items": [
                    {"lot": lot["id"], "quantity": rng.randint(1, 6), "unit_price": rng.choice([90, 98.5, 104])}
                    for lot in chosen
                ],
            }
        )
    rules: dict[str, Any] = {
        "line_service": ("whole" if whole else "split") if whole is not None else rng.choice(["whole", "split"]),
        "max_share_per_supplier": rng.choice([1, 1, 0.75, 0.5]),
    }
    if rng.random() < 0.6:
        rules["max_winners_per_lot"] = rng.randint(1, 2)
    return {
        "rules": rules,
        "suppliers": [{"id": s, "capacity": rng.randint(0, 14)} for s in sups],
        "lots": lots,
        "bids": bids,
        "packages": packages,
    }


# --------------------------------------------------------------------------------------
# Independent HiGHS MIP (highspy)
# --------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def var(self, lb: float, ub: float, integer: bool = True) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(1 if integer else 0)
        return len(self.lb) - 1

    def row(self, lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        self.rows.append((lo, hi, idx, val))


def highs_award(doc: dict[str, Any], time_limit: float = 60.0, threads: int = 1, relax: bool = False) -> dict[str, Any]:
    """Lexicographic optimum by HiGHS: max vehicles, then min cents with vehicles >= that.

    Returns vehicles, cents, the proven bounds of both phases, whether each was proven,
    and the seconds to the first feasible solution and in total.
    """
    import highspy
    import numpy as np

    t0 = time.monotonic()
    _, info = _sources(doc)
    inf = highspy.kHighsInf
    b = _Builder()
    veh: dict[int, float] = {}
    price: dict[int, float] = {}
    line_use: dict[str, list[tuple[int, float]]] = {}
    sup_use: dict[str, list[tuple[int, float]]] = {}
    lot_use: dict[tuple[str, str], list[tuple[int, float]]] = {}
    sel: dict[tuple[str, str], list[int]] = {}
    whole = info["whole"]
    quarters = has_quarters(doc)
    qalloc: list[
        tuple[int, int, str, str, dict[str, Any], dict[str, Any]]
    ] = []  # (x, unit, supplier, lot, line, source)
    for bid in doc["bids"]:
        lot = info["lots"][bid["lot"]]
        tiers = bid["tiers"]
        ys = []
        for k, t in enumerate(tiers):
            lo = max(t["min_quantity"], bid["min_quantity"])
            hi = (
                bid["max_quantity"]
                if k + 1 == len(tiers)
                else min(bid["max_quantity"], tiers[k + 1]["min_quantity"] - 1)
            )
            if lo > hi:
                continue
            p = cents(t["unit_price"])
            y = b.var(0, 1)
            ys.append(y)
            xs, coef = [], []
            for d in lot["demand"]:
                if p > cents(d["max_unit_price"]) or bid["supplier"] in d.get("excluded_suppliers", []):
                    continue
                if quarters and not allowed_quarters(doc, d, bid["supplier"], bid):
                    continue
                if whole:
                    x = b.var(0, 1)
                    unit = d["quantity"]
                else:
                    x = b.var(0, d["quantity"])
                    unit = 1
                b.row(-inf, 0, [x, y], [1, -(1 if whole else d["quantity"])])
                xs.append(x)
                coef.append(unit)
                veh[x] = unit
                price[x] = unit * p
                line_use.setdefault(d["id"], []).append((x, unit))
                qalloc.append((x, unit, bid["supplier"], bid["lot"], d, bid))
                sup_use.setdefault(bid["supplier"], []).append((x, unit))
                lot_use.setdefault((bid["supplier"], bid["lot"]), []).append((x, unit))
            b.row(0, inf, [*xs, y], [*coef, -lo])  # q >= lo * y
            b.row(-inf, 0, [*xs, y], [*coef, -hi])  # q <= hi * y
            sel.setdefault((bid["supplier"], bid["lot"]), []).append(y)
        if len(ys) > 1:
            b.row(-inf, 1, ys, [1] * len(ys))
    for pkg in doc.get("packages") or []:
        z = b.var(0, 1)
        total = sum(it["quantity"] for it in pkg["items"])
        veh[z] = total
        price[z] = sum(it["quantity"] * cents(it["unit_price"]) for it in pkg["items"])
        sup_use.setdefault(pkg["supplier"], []).append((z, total))
        for it in pkg["items"]:
            lot = info["lots"][it["lot"]]
            p = cents(it["unit_price"])
            xs, coef = [], []
            for d in lot["demand"]:
                if p > cents(d["max_unit_price"]) or pkg["supplier"] in d.get("excluded_suppliers", []):
                    continue
                if quarters and not allowed_quarters(doc, d, pkg["supplier"], pkg):
                    continue
                x = b.var(0, 1) if whole else b.var(0, d["quantity"])
                unit = d["quantity"] if whole else 1
                xs.append(x)
                coef.append(unit)
                line_use.setdefault(d["id"], []).append((x, unit))
                qalloc.append((x, unit, pkg["supplier"], it["lot"], d, pkg))
            b.row(0, 0, [*xs, z], [*coef, -it["quantity"]])
            lot_use.setdefault((pkg["supplier"], it["lot"]), []).append((z, it["quantity"]))
            sel.setdefault((pkg["supplier"], it["lot"]), []).append(z)
    line_rows: list[tuple[int, float]] = []  # (row, its upper bound): a line served at most once / in full
    for lot in info["lots"].values():
        for d in lot["demand"]:
            terms = line_use.get(d["id"], [])
            if terms:
                line_rows.append((len(b.rows), 1.0 if whole else float(d["quantity"])))
                b.row(-inf, 1 if whole else d["quantity"], [v for v, _ in terms], [1.0] * len(terms))
    # the vehicles of every line some allocation can serve: no award has more
    servable = sum(d["quantity"] for lot in info["lots"].values() for d in lot["demand"] if line_use.get(d["id"]))
    for s, terms in sup_use.items():
        b.row(-inf, info["cap"][s], [v for v, _ in terms], [c for _, c in terms])
    winners: dict[str, list[int]] = {}
    for (s, lot_id), terms in lot_use.items():
        w = b.var(0, 1)
        for v in sel.get((s, lot_id), []):
            b.row(-inf, 0, [v, w], [1, -1])
        b.row(-inf, 0, [*(v for v, _ in terms), w], [*(c for _, c in terms), -info["share_cap"][lot_id]])
        winners.setdefault(lot_id, []).append(w)
    if info["max_winners"] is not None:
        for ws in winners.values():
            b.row(-inf, info["max_winners"], ws, [1] * len(ws))

    # Delivery quarters, as a transportation problem: per (supplier, line, allowed quarters) with
    # quarterly capacities, the vehicles of every allocation there (all tiers and sources with the
    # same quarters) split over those quarters; per capacity entry, a row. The split is continuous:
    # for integer allocations it is a network flow (allocation -> (quarter, segment) -> quarter)
    # with integer capacities, so a fractional split exists exactly when an integer one does; the
    # integers stay on the allocations (1,800 s did not prove a 200-bid round with one integer per
    # allocation and quarter).
    caps = quarter_caps(doc) if quarters else {}
    segment = {lot_id: lot.get("segment") for lot_id, lot in info["lots"].items()}
    cap_rows: dict[tuple[str, int, str | None], list[int]] = {}
    groups: dict[tuple[str, str, tuple[int, ...]], tuple[str, dict[str, Any], list[tuple[int, int]]]] = {}
    for x, unit, sup, lot_id, d, src in qalloc:
        if sup not in caps:
            continue
        allowed = tuple(allowed_quarters(doc, d, sup, src))
        groups.setdefault((sup, d["id"], allowed), (lot_id, d, []))[2].append((x, unit))
    for (sup, _, allowed), (lot_id, d, xs) in groups.items():
        ds = []
        for q in allowed:
            dq = b.var(0, d["quantity"], integer=False)
            ds.append(dq)
            for key in {(q, None), (q, segment[lot_id])}:
                if key in caps[sup]:
                    cap_rows.setdefault((sup, *key), []).append(dq)
        b.row(0, 0, [*ds, *(x for x, _ in xs)], [1.0] * len(ds) + [-float(unit) for _, unit in xs])
    for (sup, q, seg), ds in cap_rows.items():
        b.row(-inf, caps[sup][q, seg], ds, [1.0] * len(ds))

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # objectives are integers: proven means exact
    n = len(b.lb)
    h.addVars(n, np.array(b.lb, dtype=float), np.array(b.ub, dtype=float))
    if not relax:
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array(b.integer, dtype=np.uint8))
    starts, idx, val, lo, hi = [], [], [], [], []
    for r_lo, r_hi, ri, rv in b.rows:
        starts.append(len(idx))
        idx.extend(ri)
        val.extend(rv)
        lo.append(r_lo)
        hi.append(r_hi)
    h.addRows(
        len(lo),
        np.array(lo, dtype=float),
        np.array(hi, dtype=float),
        len(idx),
        np.array(starts, dtype=np.int32),
        np.array(idx, dtype=np.int32),
        np.array(val, dtype=float),
    )
    first: list[float] = []

    def on_solution(*_: Any) -> None:
        if not first:
            first.append(time.monotonic() - t0)

    h.cbMipImprovingSolution.subscribe(on_solution)
    deadline = t0 + time_limit
    vidx = np.array(sorted(veh), dtype=np.int32)

    # Phase 1: max vehicles
    cost = np.zeros(n)
    cost[vidx] = [veh[i] for i in vidx]
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.setOptionValue("time_limit", max(0.1, (deadline - time.monotonic()) * 0.5))
    h.run()
    st1 = h.getModelStatus()
    info1 = h.getInfo()
    found1 = bool(info1.primal_solution_status) and math.isfinite(info1.objective_function_value)
    sol = list(h.getSolution().col_value) if found1 else None
    vehicles = round(info1.objective_function_value) if sol else 0
    dual1 = info1.objective_function_value if relax else info1.mip_dual_bound
    vbound = math.floor(dual1 + 1e-6) if math.isfinite(dual1) else None
    v_opt = st1 == highspy.HighsModelStatus.kOptimal
    # Phase 2: min price with vehicles >= that. When that is every servable vehicle, it says each
    # servable line is served in full: its row becomes an equality (the same awards, stated so that
    # presolve and the LP see it line by line; the 200-bid quarter rounds in split service proved
    # only so within 120 s).
    pidx = np.array(sorted(price), dtype=np.int32)
    h.addRow(vehicles, inf, len(vidx), vidx, np.array([veh[i] for i in vidx], dtype=float))
    if vehicles == servable and not relax:
        for r, hi in line_rows:
            h.changeRowBounds(r, hi, hi)
    # Every award's price is a multiple of the prices' gcd: the objective in those units is the same
    # problem, with "proven" (mip_abs_gap 0.5) still meaning exact to the cent, but with coefficients
    # HiGHS's tolerances can prove (IDR-like prices of 10^14 cents did not prove in 60 s where the same
    # round at 10^-4 the prices proved in 16 s).
    unit_c = math.gcd(*price.values()) or 1
    cost = np.zeros(n)
    cost[pidx] = [price[i] // unit_c for i in pidx]
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    if sol:  # after the objective change, or HiGHS drops the start
        h.setSolution(_solution(highspy, sol))
    h.setOptionValue("time_limit", max(0.1, deadline - time.monotonic()))
    h.run()
    st2 = h.getModelStatus()
    info2 = h.getInfo()
    has2 = bool(info2.primal_solution_status) and math.isfinite(info2.objective_function_value)
    price_c = round(info2.objective_function_value) * unit_c if has2 else None
    dual2 = info2.objective_function_value if relax else info2.mip_dual_bound
    pbound = math.ceil(dual2 - 1e-6) * unit_c if has2 and math.isfinite(dual2) else None
    return {
        "vehicles": vehicles,
        "cents": price_c,
        "bound_vehicles": vbound,
        "bound_cents": pbound,
        "vehicles_optimal": v_opt,
        "optimal": v_opt and st2 == highspy.HighsModelStatus.kOptimal,
        "serve_all": vehicles == servable,  # phase 2 stated every servable line served in full
        "first_feasible": first[0] if first else None,
        "seconds": time.monotonic() - t0,
    }


def _solution(highspy: Any, values: list[float]) -> Any:
    s = highspy.HighsSolution()
    s.col_value = values
    s.value_valid = True
    return s


def contract_example() -> dict[str, Any]:
    """The contract's example round, completed with a second lot, supplier and bid."""
    return {
        "rules": {"max_winners_per_lot": 2, "max_share_per_supplier": 1.0, "line_service": "whole"},
        "suppliers": [
            {"id": "oem-1", "capacity": 300},
            {"id": "oem-2", "capacity": 50},
            {"id": "oem-3", "capacity": 40},
        ],
        "lots": [
            {
                "id": "lot-1",
                "demand": [
                    {
                        "id": "d-001",
                        "fleet": "fleet-7",
                        "quantity": 12,
                        "max_unit_price": 260000,
                        "excluded_suppliers": ["oem-3"],
                    },
                    {"id": "d-002", "fleet": "fleet-8", "quantity": 48, "max_unit_price": 240000.5},
                ],
            },
            {"id": "lot-2", "demand": [{"id": "d-003", "fleet": "fleet-7", "quantity": 40, "max_unit_price": 190000}]},
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-1",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 100,
                "tiers": [{"min_quantity": 10, "unit_price": 250000}, {"min_quantity": 50, "unit_price": 235000}],
            },
            {
                "id": "bid-2",
                "supplier": "oem-3",
                "lot": "lot-2",
                "min_quantity": 20,
                "max_quantity": 40,
                "tiers": [{"min_quantity": 20, "unit_price": 185000.25}],
            },
        ],
        "packages": [
            {
                "id": "pkg-1",
                "supplier": "oem-1",
                "items": [
                    {"lot": "lot-1", "quantity": 60, "unit_price": 240000},
                    {"lot": "lot-2", "quantity": 40, "unit_price": 180000},
                ],
            }
        ],
    }

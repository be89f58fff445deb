"""Helpers for the pooling tests: small random instances and an exhaustive reference.

The brute force knows nothing of the solver's classes, slots or models: it assigns every
item (a whole line, or one vehicle of a splittable line) to "unpooled" or to a lot and keeps
the best objective triple over all assignments whose lots are each valid by the contract.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from solver import pool, validate_pooling

REGIONS = [
    {"code": "W", "parent": None},
    {"code": "A", "parent": "W"},
    {"code": "B", "parent": "W"},
    {"code": "A1", "parent": "A"},
    {"code": "A2", "parent": "A"},
    {"code": "A1x", "parent": "A1"},
    {"code": "B1", "parent": "B"},
]
PARENT = {r["code"]: r["parent"] for r in REGIONS}
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]


def small_instance(rng: random.Random, max_items: int = 8) -> dict[str, Any]:
    """3-7 lines, at most `max_items` brute-force items (a splittable line counts its vehicles)."""
    lo = rng.randint(1, 10)
    hi = rng.randint(lo, lo + rng.choice((0, 3, 10)))
    demand = []
    items = 0
    for i in range(rng.randint(2, 7)):
        split = rng.random() < 0.3
        q = rng.randint(1, 3) if split else rng.randint(1, 10)
        if items + (q if split else 1) > max_items:
            break
        items += q if split else 1
        a = rng.randrange(4)
        b = rng.randrange(a, min(4, a + 3))
        demand.append(
            {
                "id": f"d{i}",
                "segment": rng.choice(("s", "s", "s", "t")),
                "region": rng.choice([r["code"] for r in REGIONS]),
                "quantity": q,
                "window": {"earliest": QUARTERS[a], "latest": QUARTERS[b]},
                "requirements": {
                    "min_range_km": rng.choice((100, 200)),
                    "charging": sorted(rng.sample(["X", "Y"], rng.choice((1, 1, 2)))),
                },
                "splittable": split,
            }
        )
    return {
        "rules": {"min_lot_quantity": lo, "max_lot_quantity": hi, "max_levels_up": rng.randint(0, 2)},
        "regions": [dict(r) for r in REGIONS],
        "demand": demand,
    }


def _levels(line_region: str, lot_region: str) -> int | None:
    lev, r = 0, line_region
    while r is not None:
        if r == lot_region:
            return lev
        r, lev = PARENT[r], lev + 1
    return None


def brute_force(doc: dict[str, Any]) -> tuple[int, int, int]:
    """The best (pooled, lots, spread) over every pooling of the instance."""
    rules = doc["rules"]
    lo, hi, up = rules["min_lot_quantity"], rules["max_lot_quantity"], rules["max_levels_up"]
    lines = doc["demand"]
    q = {ln["id"]: ln["quantity"] for ln in lines}
    by_id = {ln["id"]: ln for ln in lines}
    items = []  # (line id, vehicles)
    for ln in lines:
        if ln.get("splittable", False):
            items.extend([(ln["id"], 1)] * ln["quantity"])
        else:
            items.append((ln["id"], ln["quantity"]))

    @cache
    def lot_spread(members: tuple[tuple[str, int], ...]) -> int | None:
        """Least spread of a valid lot with these members (line id, vehicles), None if no lot is valid."""
        total = sum(v for _, v in members)
        if not lo <= total <= hi:
            return None
        ls = [by_id[d] for d, _ in members]
        if len({ln["segment"] for ln in ls}) != 1:
            return None
        if max(ln["window"]["earliest"] for ln in ls) > min(ln["window"]["latest"] for ln in ls):
            return None
        if not set.intersection(*(set(ln["requirements"]["charging"]) for ln in ls)):
            return None
        best = None
        for region in PARENT:
            levels = [_levels(ln["region"], region) for ln in ls]
            if any(lev is None or lev > up for lev in levels):
                continue
            s = sum(v * lev for (_, v), lev in zip(members, levels, strict=True))
            best = s if best is None else min(best, s)
        return best

    best = (0, 0, 0)
    assign = [0] * len(items)

    def rec(i: int, used: int) -> None:
        nonlocal best
        if i == len(items):
            lots: dict[int, dict[str, int]] = {}
            for (d, v), k in zip(items, assign, strict=True):
                if k:
                    lots.setdefault(k, {})
                    lots[k][d] = lots[k].get(d, 0) + v
            pooled = spread = 0
            for members in lots.values():
                s = lot_spread(tuple(sorted(members.items())))
                if s is None:
                    return
                pooled += sum(members.values())
                spread += s
            cand = (pooled, len(lots), spread)
            if (-cand[0], cand[1], cand[2]) < (-best[0], best[1], best[2]):
                best = cand
            return
        for k in range(used + 2):  # 0 = unpooled, 1..used = existing lots, used + 1 = a new lot
            assign[i] = k
            rec(i + 1, max(used, k))

    rec(0, 0)
    assert all(q[d] > 0 for d in q)
    return best


def solve_checked(doc: dict[str, Any], **options: Any) -> dict[str, Any]:
    """pool() with the independent validation asserted."""
    options.setdefault("time_limit", 20.0)
    result = pool(doc, **options)
    problems = validate_pooling(doc, result)
    assert problems == [], problems
    return result


def triple(result: dict[str, Any]) -> tuple[int, int, int]:
    st = result["stats"]
    return st["pooled_quantity"], st["lots"], st["spread"]


def reference_mip(doc: dict[str, Any], seconds: float = 60.0) -> tuple[tuple[int, int, int], bool]:
    """An independent lexicographic HiGHS model (highspy), line by line: ((pooled, lots, spread), proven)."""
    out = reference_mip_run(doc, seconds)
    return out["triple"], out["proven"]


def reference_mip_run(doc: dict[str, Any], seconds: float = 60.0) -> dict[str, Any]:
    """The independent model with its figures (the benchmark's side-by-side column).

    One candidate lot key per (segment, region node, quarter, charging) any line can reach; y[l,k]
    whether a whole line joins key k, z[l,k] vehicles of a splittable line there, n[k] lots at k:
        min*n[k] <= vehicles at k <= max*n[k],  a line's parts <= its quantity,  part <= n[k] * per-lot cap.
    It ignores how whole lines pack into a key's lots, so it is a relaxation: a valid result with
    the same objective triple is optimal. `seconds` is shared by the three phases (building excluded).
    """
    import time

    import highspy

    start = time.monotonic()
    rules = doc["rules"]
    lo, hi, up = rules["min_lot_quantity"], rules["max_lot_quantity"], rules["max_levels_up"]
    parent = {r["code"]: r.get("parent") for r in doc["regions"]}

    def quarter(s: str) -> int:
        return int(s[:4]) * 4 + int(s[5]) - 1

    keys: dict[tuple, list[tuple[int, int]]] = {}
    for i, ln in enumerate(doc["demand"]):
        if not ln.get("splittable", False) and ln["quantity"] > hi:
            continue
        region, lev = ln["region"], 0
        while region is not None and lev <= up:
            for q in range(quarter(ln["window"]["earliest"]), quarter(ln["window"]["latest"]) + 1):
                for ch in ln["requirements"]["charging"]:
                    keys.setdefault((ln["segment"], region, q, ch), []).append((i, lev))
            region, lev = parent[region], lev + 1
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)
    parts: dict[int, list[Any]] = {}
    pooled, spread, lots = [], [], []
    for members in keys.values():
        total = sum(doc["demand"][i]["quantity"] for i, _ in members)
        if total < lo:
            continue
        n = h.addIntegral(lb=0, ub=total // lo)
        lots.append(n)
        vehicles = []
        for i, lev in members:
            ln = doc["demand"][i]
            q = ln["quantity"]
            if ln.get("splittable", False):
                v = h.addIntegral(lb=0, ub=q)
                h.addConstr(v <= min(q, hi) * n)
                amount = v
            else:
                v = h.addBinary()
                h.addConstr(v <= n)
                amount = q * v
            parts.setdefault(i, []).append(v)
            vehicles.append(amount)
            pooled.append(amount)
            if lev:
                spread.append(lev * amount)
        t = h.qsum(vehicles)
        h.addConstr(t >= lo * n)
        h.addConstr(t <= hi * n)
    for i, vs in parts.items():
        ln = doc["demand"][i]
        h.addConstr(h.qsum(vs) <= (ln["quantity"] if ln.get("splittable", False) else 1))
    built = time.monotonic() - start
    out: dict[str, Any] = {"triple": (0, 0, 0), "proven": True, "bound": 0, "build_seconds": built, "found": True}
    if not lots:
        return out
    deadline = time.monotonic() + seconds
    proven = True
    result = []
    objectives = ((h.qsum(pooled), "max"), (h.qsum(lots), "min"), (h.qsum(spread or [0 * lots[0]]), "min"))
    for k, (expr, sense) in enumerate(objectives):
        h.setOptionValue("time_limit", max(0.01, deadline - time.monotonic()))
        h.maximize(expr) if sense == "max" else h.minimize(expr)
        info = h.getInfo()
        if info.primal_solution_status != 2:  # no feasible solution
            out.update(found=k > 0, proven=False, solve_seconds=time.monotonic() - start - built)
            if k == 0:
                return out
            break
        proven = proven and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if k == 0:
            out["bound"] = int(info.mip_dual_bound + 1e-6)
        value = round(info.objective_function_value)
        result.append(value)
        h.addConstr(expr >= value) if sense == "max" else h.addConstr(expr <= value)
    while len(result) < 3:
        result.append(-1)
    out.update(triple=tuple(result), proven=proven, solve_seconds=time.monotonic() - start - built)
    return out

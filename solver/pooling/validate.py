"""Independent re-check of a pooling result against its input: every rule, every total.

It shares nothing with the models: it reads the result document as given, recomputes
windows, requirements, quantities, spread and the stats, and names each broken rule by
the JSON path of the result field concerned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from solver import schema
from solver.errors import Problem
from solver.pooling.parse import parse
from solver.quarters import parse_quarter


def validate_pooling(doc: Mapping[str, Any], result: Mapping[str, Any]) -> list[Problem]:
    """Every rule the result breaks, [] if valid. Raises InvalidInput if the input itself is invalid."""
    inp = parse(doc)
    problems = schema.check(result, "pooling-output")
    if problems:
        return problems
    rules = inp.rules
    lines = {ln.id: ln for ln in inp.lines}
    depth = {code: inp.depth(code) for code in inp.parent}
    pooled: dict[str, int] = defaultdict(int)
    lots_of: dict[str, int] = defaultdict(int)
    spread = 0
    ids = set()
    for i, lot in enumerate(result["lots"]):
        at = f"lots[{i}]"

        def bad(field: str, message: str, at: str = at) -> None:
            problems.append(Problem(f"{at}.{field}" if field else at, message))

        if lot["id"] in ids:
            bad("id", f"duplicate lot id {lot['id']}")
        ids.add(lot["id"])
        region = lot["region"]
        if region not in depth:
            bad("region", f"unknown region {region}")
            continue
        members = []
        seen = set()
        for j, m in enumerate(lot["members"]):
            ln = lines.get(m["demand"])
            if ln is None:
                bad(f"members[{j}].demand", f"unknown demand line {m['demand']}")
                continue
            if ln.id in seen:
                bad(f"members[{j}].demand", f"line {ln.id} appears twice in the lot")
            seen.add(ln.id)
            members.append((j, ln, m["quantity"]))
        if not members:
            continue
        for j, ln, q in members:
            mat = f"members[{j}]"
            pooled[ln.id] += q
            lots_of[ln.id] += 1
            if ln.segment != lot["segment"]:
                bad(mat, f"segment {ln.segment} is not the lot's {lot['segment']}")
            up, lev = ln.region, 0
            while up is not None and up != region:
                up, lev = inp.parent[up], lev + 1
            if up is None:
                bad(mat, f"region {ln.region} is not {region} or below it")
            elif lev > rules.max_levels_up:
                bad(mat, f"region {ln.region} is {lev} levels below {region}, more than {rules.max_levels_up}")
            else:
                spread += q * lev
            if lot["charging"] not in ln.charging:
                bad(mat, f"line {ln.id} does not accept charging {lot['charging']}")
            if not ln.splittable and q != ln.quantity:
                bad(f"{mat}.quantity", f"line {ln.id} is not splittable: must be its whole {ln.quantity}")
        earliest = max(ln.earliest for _, ln, _ in members)
        latest = min(ln.latest for _, ln, _ in members)
        if earliest > latest:
            bad("window", "the members' windows do not intersect")
        elif (parse_quarter(lot["window"]["earliest"]), parse_quarter(lot["window"]["latest"])) != (earliest, latest):
            bad("window", "is not the intersection of the members' windows")
        strictest = {
            key: max((getattr(ln, key) or 0 for _, ln, _ in members), default=0)
            for key in ("min_range_km", "min_payload_kg")
        }
        for key, value in strictest.items():
            if lot["requirements"][key] != value:
                bad(f"requirements.{key}", f"must be the strictest member's, {value}")
        total = sum(q for _, _, q in members)
        if lot["quantity"] != total:
            bad("quantity", f"is not the sum of its members, {total}")
        if not rules.min_lot <= total <= rules.max_lot:
            bad("quantity", f"{total} is outside [{rules.min_lot}, {rules.max_lot}]")

    left: dict[str, int] = defaultdict(int)
    for i, u in enumerate(result["unpooled"]):
        if u["demand"] not in lines:
            problems.append(Problem(f"unpooled[{i}].demand", f"unknown demand line {u['demand']}"))
        elif u["demand"] in left:
            problems.append(Problem(f"unpooled[{i}].demand", f"line {u['demand']} is listed twice"))
        left[u["demand"]] += u["quantity"]
    for ln in inp.lines:
        if pooled[ln.id] + left[ln.id] != ln.quantity:
            problems.append(
                Problem(
                    "unpooled",
                    f"line {ln.id}: {pooled[ln.id]} pooled + {left[ln.id]} unpooled is not its {ln.quantity}",
                )
            )
        if not ln.splittable and lots_of[ln.id] > 1:
            problems.append(Problem("lots", f"line {ln.id} is not splittable but is in {lots_of[ln.id]} lots"))

    st = result["stats"]
    expect = {
        "total_quantity": sum(ln.quantity for ln in inp.lines),
        "pooled_quantity": sum(lot["quantity"] for lot in result["lots"]),
        "lots": len(result["lots"]),
        "spread": spread,
    }
    for key, value in expect.items():
        if key in st and st[key] != value:
            problems.append(Problem(f"stats.{key}", f"is {st[key]}, the result says {value}"))
    if st["bound"] < expect["pooled_quantity"]:
        problems.append(Problem("stats.bound", "is below the pooled vehicles"))
    if st.get("lots_bound", 0) > expect["lots"] or st.get("spread_bound", 0) > spread:
        problems.append(Problem("stats", "a lower bound exceeds the result's value"))
    if result["status"] == "OPTIMAL":
        if st["bound"] != expect["pooled_quantity"]:
            problems.append(Problem("status", "OPTIMAL but the vehicle bound is above the pooled vehicles"))
        if st.get("lots_bound", expect["lots"]) != expect["lots"] or st.get("spread_bound", spread) != spread:
            problems.append(Problem("status", "OPTIMAL but lots or spread are not proven"))
    return problems

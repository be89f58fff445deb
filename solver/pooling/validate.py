"""Independent re-check of a pooling result against its input: every rule, every total.

It shares nothing with the models: it reads the result document as given, recomputes
windows, requirements, quantities, spread and the stats, and names each broken rule by
the JSON path of the result field concerned.

One check per rule of the contract (docs/solver-io.md, section 1), listed in CHECKS: each is a
pure function of the read result, so a test corrupts a valid result one way and sees the check
of that rule, by name, report it (tests/solver/test_validate_mutations.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from solver import schema
from solver.errors import Problem
from solver.pooling.parse import parse
from solver.pooling.types import Line, PoolingInput
from solver.quarters import parse_quarter

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Member:
    index: int  # position in the lot's members
    line: Line
    quantity: int


@dataclass
class LotView:
    """One result lot as written; `members` holds its known lines (none if its region is unknown)."""

    index: int
    doc: Json
    region_known: bool
    members: list[Member] = field(default_factory=list)

    def path(self, sub: str = "") -> str:
        return f"lots[{self.index}].{sub}" if sub else f"lots[{self.index}]"

    def levels(self, m: Member, parent: dict[str, str | None]) -> int | None:
        """Levels from the member's region up to the lot's, None if the lot's is not above it."""
        up: str | None = m.line.region
        lev = 0
        while up is not None and up != self.doc["region"]:
            up, lev = parent[up], lev + 1
        return None if up is None else lev


@dataclass
class Pooling:
    inp: PoolingInput
    result: Json
    lines: dict[str, Line]
    lots: list[LotView] = field(default_factory=list)
    pooled: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # line -> vehicles in lots
    lots_of: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # line -> lots it is in
    spread: int = 0

    def members(self) -> list[tuple[LotView, Member]]:
        return [(lot, m) for lot in self.lots for m in lot.members]


def read(inp: PoolingInput, result: Json) -> Pooling:
    p = Pooling(inp, result, {ln.id: ln for ln in inp.lines})
    for i, lot in enumerate(result["lots"]):
        view = LotView(i, lot, lot["region"] in inp.parent)
        p.lots.append(view)
        if not view.region_known:
            continue
        for j, m in enumerate(lot["members"]):
            ln = p.lines.get(m["demand"])
            if ln is not None:
                view.members.append(Member(j, ln, m["quantity"]))
        for mem in view.members:
            p.pooled[mem.line.id] += mem.quantity
            p.lots_of[mem.line.id] += 1
            lev = view.levels(mem, inp.parent)
            if lev is not None and lev <= inp.rules.max_levels_up:
                p.spread += mem.quantity * lev
    return p


# -- one check per rule --------------------------------------------------------------------


def check_lot_ids(p: Pooling) -> list[Problem]:
    """Lot ids are distinct."""
    out, ids = [], set()
    for lot in p.lots:
        if lot.doc["id"] in ids:
            out.append(Problem(lot.path("id"), f"duplicate lot id {lot.doc['id']}"))
        ids.add(lot.doc["id"])
    return out


def check_regions_known(p: Pooling) -> list[Problem]:
    """A lot's region is a region node of the input."""
    return [
        Problem(lot.path("region"), f"unknown region {lot.doc['region']}") for lot in p.lots if not lot.region_known
    ]


def check_members_known(p: Pooling) -> list[Problem]:
    """A lot's members are demand lines of the input, each once."""
    out = []
    for lot in p.lots:
        if not lot.region_known:
            continue
        seen = set()
        for j, m in enumerate(lot.doc["members"]):
            if m["demand"] not in p.lines:
                out.append(Problem(lot.path(f"members[{j}].demand"), f"unknown demand line {m['demand']}"))
                continue
            if m["demand"] in seen:
                out.append(Problem(lot.path(f"members[{j}].demand"), f"line {m['demand']} appears twice in the lot"))
            seen.add(m["demand"])
    return out


def check_segment(p: Pooling) -> list[Problem]:
    """All members have the lot's segment."""
    return [
        Problem(lot.path(f"members[{m.index}]"), f"segment {m.line.segment} is not the lot's {lot.doc['segment']}")
        for lot, m in p.members()
        if m.line.segment != lot.doc["segment"]
    ]


def check_region_levels(p: Pooling) -> list[Problem]:
    """Each member's region is the lot's or lies below it, at most max_levels_up levels."""
    out = []
    most = p.inp.rules.max_levels_up
    for lot, m in p.members():
        lev = lot.levels(m, p.inp.parent)
        region = lot.doc["region"]
        if lev is None:
            out.append(Problem(lot.path(f"members[{m.index}]"), f"region {m.line.region} is not {region} or below it"))
        elif lev > most:
            out.append(
                Problem(
                    lot.path(f"members[{m.index}]"),
                    f"region {m.line.region} is {lev} levels below {region}, more than {most}",
                )
            )
    return out


def check_charging(p: Pooling) -> list[Problem]:
    """Every member accepts the lot's charging standard."""
    return [
        Problem(lot.path(f"members[{m.index}]"), f"line {m.line.id} does not accept charging {lot.doc['charging']}")
        for lot, m in p.members()
        if lot.doc["charging"] not in m.line.charging
    ]


def check_whole_lines(p: Pooling) -> list[Problem]:
    """A line that is not splittable goes whole into one lot (or stays unpooled)."""
    out = [
        Problem(
            lot.path(f"members[{m.index}].quantity"),
            f"line {m.line.id} is not splittable: must be its whole {m.line.quantity}",
        )
        for lot, m in p.members()
        if not m.line.splittable and m.quantity != m.line.quantity
    ]
    out += [
        Problem("lots", f"line {ln.id} is not splittable but is in {p.lots_of[ln.id]} lots")
        for ln in p.inp.lines
        if not ln.splittable and p.lots_of[ln.id] > 1
    ]
    return out


def check_window(p: Pooling) -> list[Problem]:
    """The lot's window is the intersection of its members' windows, and it is not empty."""
    out = []
    for lot in p.lots:
        if not lot.members:
            continue
        earliest = max(m.line.earliest for m in lot.members)
        latest = min(m.line.latest for m in lot.members)
        w = lot.doc["window"]
        if earliest > latest:
            out.append(Problem(lot.path("window"), "the members' windows do not intersect"))
        elif (parse_quarter(w["earliest"]), parse_quarter(w["latest"])) != (earliest, latest):
            out.append(Problem(lot.path("window"), "is not the intersection of the members' windows"))
    return out


def check_requirements(p: Pooling) -> list[Problem]:
    """The lot's requirements are the strictest of its members' (largest range, largest payload)."""
    out = []
    for lot in p.lots:
        if not lot.members:
            continue
        for key in ("min_range_km", "min_payload_kg"):
            value = max((getattr(m.line, key) or 0 for m in lot.members), default=0)
            if lot.doc["requirements"][key] != value:
                out.append(Problem(lot.path(f"requirements.{key}"), f"must be the strictest member's, {value}"))
    return out


def check_lot_quantity(p: Pooling) -> list[Problem]:
    """A lot's quantity is the sum of its members'."""
    out = []
    for lot in p.lots:
        total = sum(m.quantity for m in lot.members)
        if lot.members and lot.doc["quantity"] != total:
            out.append(Problem(lot.path("quantity"), f"is not the sum of its members, {total}"))
    return out


def check_lot_size(p: Pooling) -> list[Problem]:
    """A lot's quantity lies within [min_lot_quantity, max_lot_quantity]."""
    rules = p.inp.rules
    out = []
    for lot in p.lots:
        total = sum(m.quantity for m in lot.members)
        if lot.members and not rules.min_lot <= total <= rules.max_lot:
            out.append(Problem(lot.path("quantity"), f"{total} is outside [{rules.min_lot}, {rules.max_lot}]"))
    return out


def check_unpooled(p: Pooling) -> list[Problem]:
    """Every vehicle of every line is pooled or listed once as unpooled."""
    out = []
    left: dict[str, int] = defaultdict(int)
    for i, u in enumerate(p.result["unpooled"]):
        if u["demand"] not in p.lines:
            out.append(Problem(f"unpooled[{i}].demand", f"unknown demand line {u['demand']}"))
        elif u["demand"] in left:
            out.append(Problem(f"unpooled[{i}].demand", f"line {u['demand']} is listed twice"))
        left[u["demand"]] += u["quantity"]
    for ln in p.inp.lines:
        if p.pooled[ln.id] + left[ln.id] != ln.quantity:
            out.append(
                Problem(
                    "unpooled",
                    f"line {ln.id}: {p.pooled[ln.id]} pooled + {left[ln.id]} unpooled is not its {ln.quantity}",
                )
            )
    return out


def _totals(p: Pooling) -> dict[str, int]:
    return {
        "total_quantity": sum(ln.quantity for ln in p.inp.lines),
        "pooled_quantity": sum(lot["quantity"] for lot in p.result["lots"]),
        "lots": len(p.result["lots"]),
        "spread": p.spread,
    }


def check_stats(p: Pooling) -> list[Problem]:
    """The stats' totals are those of the result."""
    st = p.result["stats"]
    return [
        Problem(f"stats.{key}", f"is {st[key]}, the result says {value}")
        for key, value in _totals(p).items()
        if key in st and st[key] != value
    ]


def check_bounds(p: Pooling) -> list[Problem]:
    """The proven bounds hold for the result, and OPTIMAL means it meets them."""
    st = p.result["stats"]
    expect = _totals(p)
    out = []
    if st["bound"] < expect["pooled_quantity"]:
        out.append(Problem("stats.bound", "is below the pooled vehicles"))
    if st.get("lots_bound", 0) > expect["lots"] or st.get("spread_bound", 0) > p.spread:
        out.append(Problem("stats", "a lower bound exceeds the result's value"))
    if p.result["status"] == "OPTIMAL":
        if st["bound"] != expect["pooled_quantity"]:
            out.append(Problem("status", "OPTIMAL but the vehicle bound is above the pooled vehicles"))
        if st.get("lots_bound", expect["lots"]) != expect["lots"] or st.get("spread_bound", p.spread) != p.spread:
            out.append(Problem("status", "OPTIMAL but lots or spread are not proven"))
    return out


Check = Callable[[Pooling], list[Problem]]

CHECKS: tuple[Check, ...] = (
    check_lot_ids,
    check_regions_known,
    check_members_known,
    check_segment,
    check_region_levels,
    check_charging,
    check_whole_lines,
    check_window,
    check_requirements,
    check_lot_quantity,
    check_lot_size,
    check_unpooled,
    check_stats,
    check_bounds,
)


def validate_pooling(doc: Json, result: Json) -> list[Problem]:
    """Every rule the result breaks, [] if valid. Raises InvalidInput if the input itself is invalid."""
    inp = parse(doc)
    problems = schema.check(result, "pooling-output")
    if problems:
        return problems
    p = read(inp, result)
    return [pr for check in CHECKS for pr in check(p)]

"""Delivery quarters of an award (contract section 2, "Delivery quarters").

Which quarters a vehicle may be delivered in is per (line, source): the line's window, the
source's quarters and the supplier's listed quarters (Instance.quarters_for; pairs with none
are dropped by the pre-processing). Quarterly capacities then tie a supplier's allocations
together. For a given award the quarters are a transportation problem per supplier:

    allocation -> (quarter, segment) entry -> quarter entry -> sink

(a segment entry caps the vehicles of that quarter to lots of its segment, nested in the
quarter's own entry), solved here as a min-cost flow whose cost is how late each vehicle
comes: the deliveries written are the earliest the award allows. `Room` is the greedy's
cheaper, incremental view of the same capacities (earliest quarter with room first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from solver.award.instance import Instance

if TYPE_CHECKING:
    from solver.award.solution import Solution

# An allocation: (0, bid index, 0, line) or (1, package index, item index, line).
Key = tuple[int, int, int, int]
Schedule = dict[Key, dict[int, int]]  # allocation -> {quarter ordinal: vehicles}
CapKey = tuple[int, str | None]  # (quarter ordinal, segment or None): a quarterly capacity entry
UNLIMITED = 1 << 40
# Allocations interchangeable in the quarterly capacities: (supplier, allowed quarters, the lot's
# segment when the supplier has entries of that segment, else None).
GroupKey = tuple[int, tuple[int, ...], str | None]
Booked = list[tuple[Key, dict[int, int]]]  # allocations with their deliveries


def source_quarters(inst: Instance, key: Key) -> frozenset[int] | None:
    return inst.bids[key[1]].quarters if key[0] == 0 else inst.packages[key[1]].quarters


def supplier_of(inst: Instance, key: Key) -> int:
    return inst.bids[key[1]].supplier if key[0] == 0 else inst.packages[key[1]].supplier


def allocations(inst: Instance, sol: Solution) -> Iterator[tuple[Key, int]]:
    """Every allocation of the award with its vehicles, in a fixed order."""
    for bi, alloc in sorted(sol.bids.items()):
        for li, v in sorted(alloc.items()):
            if v > 0:
                yield (0, bi, 0, li), v
    for pi, items in sorted(sol.packages.items()):
        for ii, alloc in enumerate(items):
            for li, v in sorted(alloc.items()):
                if v > 0:
                    yield (1, pi, ii, li), v


def group_key(inst: Instance, supplier: int, line: int, quarters: frozenset[int] | None) -> GroupKey:
    """The group of an allocation of `supplier` to `line` from a source with `quarters`."""
    seg = inst.lots[inst.lines[line].lot].segment
    if seg is not None and not any(s == seg for _, s in inst.quarterly[supplier]):
        seg = None
    return supplier, inst.quarters_for(line, supplier, quarters), seg


def group_of_key(inst: Instance, key: Key) -> GroupKey | None:
    """The group of an allocation, or None when it needs none (a supplier without quarterly
    capacities, or one allowed quarter)."""
    s = supplier_of(inst, key)
    if not inst.quarterly[s]:
        return None
    gk = group_key(inst, s, key[3], source_quarters(inst, key))
    return gk if len(gk[1]) > 1 else None


def lp_rows(
    inst: Instance,
    allocs: list[tuple[int, float, int, int, frozenset[int] | None]],
    new_var: Callable[[float], int],
) -> list[tuple[float, float, list[int], list[float]]]:
    """The quarterly capacities as rows (lo, hi, variables, coefficients) of a linear relaxation:
    `allocs` are its allocation variables (variable, vehicles per unit, supplier, line, source
    quarters); `new_var(upper bound)` adds a continuous variable. The grouped transportation
    problem of solver.award.rules.quarters (continuous here: exact for integer allocations, a
    network flow)."""
    inf = float("inf")
    rows: list[tuple[float, float, list[int], list[float]]] = []
    groups: dict[GroupKey, tuple[list[int], list[float]]] = {}
    for x, unit, s, li, quarters in allocs:
        if not inst.quarterly[s]:
            continue
        idx, val = groups.setdefault(group_key(inst, s, li, quarters), ([], []))
        idx.append(x)
        val.append(unit)
    entries: dict[tuple[int, int, str | None], list[int]] = {}
    for gk in sorted(groups, key=lambda g: (g[0], g[1], g[2] or "")):
        s, allowed, seg = gk
        idx, val = groups[gk]
        fs = [new_var(inf) for _ in allowed]
        rows.append((0.0, 0.0, [*idx, *fs], [*val, *([-1.0] * len(fs))]))
        for q, fv in zip(allowed, fs, strict=True):
            keys: list[CapKey] = [(q, None)] if seg is None else [(q, None), (q, seg)]
            for ck in keys:
                if ck in inst.quarterly[s]:
                    entries.setdefault((s, *ck), []).append(fv)
    for (s, q, seg), fs in sorted(entries.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        rows.append((-inf, float(inst.quarterly[s][q, seg]), fs, [1.0] * len(fs)))
    return rows


def caps_on(inst: Instance, supplier: int, lot: int, quarter: int) -> list[CapKey]:
    """The supplier's capacity entries a vehicle to `lot` delivered in `quarter` counts against."""
    caps = inst.quarterly[supplier] if inst.quarterly else {}
    seg = inst.lots[lot].segment
    keys: list[CapKey] = [(quarter, None)] if seg is None else [(quarter, None), (quarter, seg)]
    return [k for k in keys if k in caps]


def schedule(
    inst: Instance, sol: Solution, caps: list[dict[CapKey, int]] | None = None, *, with_outside: bool = False
) -> Schedule | None:
    """The earliest deliveries of the award within the quarterly capacities (`caps`, default the
    input's), or None when the award cannot be delivered within them. A sub-round's `outside`
    groups (Instance.outside) are delivered with it; `with_outside` includes their deliveries,
    keyed (2, group index, 0, -1)."""
    caps = inst.quarterly if caps is None else caps
    out: Schedule = {}
    by_supplier: dict[int, list[tuple[Key, int, tuple[int, ...], str | None]]] = {}
    for key, v in allocations(inst, sol):
        s = supplier_of(inst, key)
        allowed = inst.quarters_for(key[3], s, source_quarters(inst, key))
        if not allowed:
            return None
        if caps and caps[s]:
            by_supplier.setdefault(s, []).append((key, v, allowed, inst.lots[inst.lines[key[3]].lot].segment))
        else:
            out[key] = {allowed[0]: v}  # nothing ties it to other allocations: its earliest quarter
    for i, ((s, allowed, seg), v) in enumerate(inst.outside):
        by_supplier.setdefault(s, []).append(((2, i, 0, -1), v, allowed, seg))
    for s, allocs in sorted(by_supplier.items()):
        got = _flow(inst, caps[s], allocs)
        if got is None:
            return None
        out.update(got if with_outside else {k: d for k, d in got.items() if k[0] != 2})
    return out


def _flow(
    inst: Instance, caps: dict[CapKey, int], allocs: list[tuple[Key, int, tuple[int, ...], str | None]]
) -> Schedule | None:
    from ortools.graph.python import min_cost_flow

    assert inst.span is not None
    mcf = min_cost_flow.SimpleMinCostFlow()
    nodes: dict[object, int] = {}

    def node(name: object) -> int:
        if name not in nodes:
            nodes[name] = len(nodes)
        return nodes[name]

    sink = node("sink")
    total = sum(v for _, v, _, _ in allocs)
    arcs: list[tuple[int, int, int]] = []  # (arc, allocation index, quarter)
    for i, (_, v, allowed, seg) in enumerate(allocs):
        a = node(("a", i))
        mcf.set_node_supply(a, v)
        for q in allowed:
            target = node(("q", q))
            if seg is not None and (q, seg) in caps:
                target = node(("s", q, seg))
            arcs.append((mcf.add_arc_with_capacity_and_unit_cost(a, target, v, q - inst.span[0]), i, q))
    for name, n in list(nodes.items()):
        if isinstance(name, tuple) and name[0] == "s":
            _, q, seg = name
            mcf.add_arc_with_capacity_and_unit_cost(n, node(("q", q)), caps[q, seg], 0)
    for name, n in list(nodes.items()):
        if isinstance(name, tuple) and name[0] == "q":
            q = name[1]
            mcf.add_arc_with_capacity_and_unit_cost(n, sink, caps.get((q, None), UNLIMITED), 0)
    mcf.set_node_supply(sink, -total)
    if mcf.solve() != mcf.OPTIMAL:
        return None
    out: Schedule = {}
    for arc, i, q in arcs:
        f = mcf.flow(arc)
        if f:
            out.setdefault(allocs[i][0], {})[q] = f
    return {k: dict(sorted(d.items())) for k, d in out.items()}


def used(inst: Instance, sched: Schedule, keys: Iterable[Key] | None = None) -> list[dict[CapKey, int]]:
    """Per supplier, the vehicles of `sched` (or of its `keys`) counted against each capacity entry."""
    out: list[dict[CapKey, int]] = [{} for _ in inst.suppliers]
    for key in sched if keys is None else keys:
        s = supplier_of(inst, key)
        lot = inst.lines[key[3]].lot
        for q, v in sched[key].items():
            for ck in caps_on(inst, s, lot, q):
                out[s][ck] = out[s].get(ck, 0) + v
    return out


def room_left(inst: Instance, used_by: list[dict[CapKey, int]]) -> list[dict[CapKey, int]]:
    return [{ck: cap - used_by[s].get(ck, 0) for ck, cap in caps.items()} for s, caps in enumerate(inst.quarterly)]


class Room:
    """What each supplier can still deliver per capacity entry, for the greedy construction."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.left = [dict(c) for c in inst.quarterly]

    def fit(self, supplier: int, key: Key, want: int) -> dict[int, int]:
        """Up to `want` vehicles of the allocation `key`, earliest quarter with room first."""
        inst = self.inst
        allowed = inst.quarters_for(key[3], supplier, source_quarters(inst, key))
        lot = inst.lines[key[3]].lot
        out: dict[int, int] = {}
        for q in allowed:
            if want <= 0:
                break
            n = min([want, *(self.left[supplier][ck] for ck in caps_on(inst, supplier, lot, q))])
            if n > 0:
                out[q] = n
                want -= n
        return out  # measured only: the caller books it with move()

    def move(self, supplier: int, lot: int, deliveries: dict[int, int], sign: int) -> None:
        for q, n in deliveries.items():
            for ck in caps_on(self.inst, supplier, lot, q):
                self.left[supplier][ck] += sign * n

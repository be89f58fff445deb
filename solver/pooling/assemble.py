"""From packed component assignments to the result's lots and unpooled lines.

Canonical tie-break (the same input and options give the same bytes):
- components, classes and slots are built in sorted order, and the models in that order;
- within a class (interchangeable lines) lines are used in demand-id order: whole lines
  fill the lots in lot order, a splittable class's vehicles are taken line by line;
- lots are ordered by segment, region, window earliest, window latest, charging standard,
  then the smallest member demand id, and numbered lot-1, lot-2, ... in that order;
- members within a lot, and unpooled lines, are sorted by demand id.
"""

from __future__ import annotations

from solver.pooling.components import Component, Prepared
from solver.pooling.packing import Assignment
from solver.pooling.reasons import leftover_reason, unpoolable_reason
from solver.pooling.types import Line, Lot, Member, Rules, Unpooled


def assemble(prep: Prepared, solutions: list[Assignment], rules: Rules) -> tuple[list[Lot], list[Unpooled]]:
    lots: list[Lot] = []
    unpooled: list[Unpooled] = []
    depth = prep.depth
    for comp, a in zip(prep.components, solutions, strict=True):
        lots.extend(_component_lots(comp, a, depth))
        taken = [0] * len(comp.classes)
        for (ci, _), v in a.x.items():
            taken[ci] += v
        for ci, k in enumerate(comp.classes):
            used = taken[ci]
            if used == k.cap:
                continue
            reason = leftover_reason(comp, ci, a, rules)
            if k.splittable:
                # The first `used` vehicles (lines in id order) are pooled; the rest is not.
                left = used
                for line in k.lines:
                    take = min(left, line.quantity)
                    left -= take
                    if take < line.quantity:
                        unpooled.append(Unpooled(line.id, line.quantity - take, reason))
            else:
                unpooled.extend(Unpooled(line.id, line.quantity, reason) for line in k.lines[used:])
    for k in prep.unpoolable:
        reason = unpoolable_reason(k, rules)
        unpooled.extend(Unpooled(line.id, line.quantity, reason) for line in k.lines)
    lots.sort(key=lambda lot: (lot.segment, lot.region, lot.earliest, lot.latest, lot.charging, lot.members[0].demand))
    for i, lot in enumerate(lots, 1):
        lot.id = f"lot-{i}"
    unpooled.sort(key=lambda u: u.demand)
    return lots, unpooled


def _component_lots(comp: Component, a: Assignment, depth: dict[str, int]) -> list[Lot]:
    assert a.bins is not None
    # Cursor per class: next whole line, or (line index, vehicles already taken) if splittable.
    cursor = {ci: [0, 0] for ci in range(len(comp.classes))}
    out = []
    for si in sorted(a.bins):
        slot = comp.slots[si]
        for b in a.bins[si]:
            members: dict[str, int] = {}
            lines: dict[str, Line] = {}
            for ci in sorted(b):
                k, cur, items = comp.classes[ci], cursor[ci], b[ci]
                if k.splittable:
                    while items:
                        line = k.lines[cur[0]]
                        take = min(items, line.quantity - cur[1])
                        members[line.id] = members.get(line.id, 0) + take
                        lines[line.id] = line
                        items -= take
                        cur[1] += take
                        if cur[1] == line.quantity:
                            cur[0], cur[1] = cur[0] + 1, 0
                else:
                    for line in k.lines[cur[0] : cur[0] + items]:
                        members[line.id] = line.quantity
                        lines[line.id] = line
                    cur[0] += items
            lot_depth = depth[slot.region]
            out.append(
                Lot(
                    id="",
                    segment=comp.segment,
                    region=slot.region,
                    earliest=max(ln.earliest for ln in lines.values()),
                    latest=min(ln.latest for ln in lines.values()),
                    charging=slot.charging,
                    min_range_km=max(ln.min_range_km or 0 for ln in lines.values()),
                    min_payload_kg=max(ln.min_payload_kg or 0 for ln in lines.values()),
                    quantity=sum(members.values()),
                    members=[Member(d, q) for d, q in sorted(members.items())],
                    spread=sum(q * (depth[lines[d].region] - lot_depth) for d, q in members.items()),
                )
            )
    return out

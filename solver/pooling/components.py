"""Pre-processing: interchangeable lines into classes, candidate lot keys ("slots"), components.

A lot is keyed by (segment, region node, one quarter, charging standard): windows that
pairwise intersect share a quarter, so keying by one quarter loses nothing (the lot's
reported window is the intersection of its members' windows). Lines with the same
segment, region, window, charging standards and splittable flag (and quantity, if not
splittable) are interchangeable and form one class: a non-splittable class is counted in
lines of `unit` vehicles, a splittable class in vehicles (`unit` 1).

A slot whose compatible demand is below the minimum lot size can hold no lot and is
dropped; a slot whose classes are a subset of another slot at the same region is dominated
(any lot there can be re-keyed to the other with the same members and spread) and dropped.
Classes linked through slots form components; different components never meet, so each is
solved on its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from solver.pooling.types import Line, PoolingInput

# (segment, region, earliest, latest, charging, splittable, unit): lines alike for pooling
ClassKey = tuple[str, str, int, int, tuple[str, ...], bool, int]
# (segment, region, quarter, charging): where a lot can be
SlotKey = tuple[str, str, int, str]


@dataclass
class Klass:
    key: ClassKey
    segment: str
    region: str
    earliest: int
    latest: int
    charging: tuple[str, ...]
    splittable: bool
    unit: int  # vehicles per counted item: the line quantity, or 1 if splittable
    cap: int  # items available: lines (not splittable) or vehicles (splittable)
    lines: list[Line]  # sorted by id
    quantity: int  # unit * cap
    slots: list[tuple[int, int]] = field(default_factory=list)  # (slot index in component, levels up)
    # For reasons: best compatible demand over every candidate key, and whether any other line was compatible.
    best_total: int = 0
    has_partner: bool = False


@dataclass
class Slot:
    region: str
    quarter: int
    charging: str
    members: list[tuple[int, int]]  # (class index in component, levels up), by class index
    total: int  # compatible vehicles


@dataclass
class Component:
    segment: str
    classes: list[Klass]
    slots: list[Slot]

    @property
    def quantity(self) -> int:
        return sum(k.quantity for k in self.classes)

    def size(self) -> int:
        return sum(len(s.members) for s in self.slots)

    @cached_property
    def level(self) -> dict[tuple[int, int], int]:
        """Levels up of every (class, slot) pair; built once (objectives are read on every solution)."""
        return {(ci, si): lev for ci, k in enumerate(self.classes) for si, lev in k.slots}


@dataclass
class Prepared:
    components: list[Component]
    unpoolable: list[Klass]  # classes that fit no slot at all
    depth: dict[str, int]


def _classes(inp: PoolingInput) -> list[Klass]:
    groups: dict[ClassKey, list[Line]] = defaultdict(list)
    for line in sorted(inp.lines, key=lambda ln: ln.id):  # so every class lists its lines by id
        unit = 1 if line.splittable else line.quantity
        key = (line.segment, line.region, line.earliest, line.latest, line.charging, line.splittable, unit)
        groups[key].append(line)
    out = []
    for key in sorted(groups):
        lines = groups[key]
        seg, region, e, last, ch, split, unit = key
        cap = sum(ln.quantity for ln in lines) if split else len(lines)
        out.append(Klass(key, seg, region, e, last, ch, split, unit, cap, lines, unit * cap))
    return out


def prepare(inp: PoolingInput) -> Prepared:
    rules = inp.rules
    depth = {code: inp.depth(code) for code in inp.parent}
    ancestors: dict[str, list[tuple[str, int]]] = {}
    for code in inp.parent:
        chain: list[tuple[str, int]] = []
        up: str | None = code
        lev = 0
        while up is not None and lev <= rules.max_levels_up:
            chain.append((up, lev))
            up, lev = inp.parent[up], lev + 1
        ancestors[code] = chain

    classes = _classes(inp)
    # Raw slots per segment: (segment, region, quarter, charging) -> [(class, level)].
    # Classes that cannot be in any lot (a line above the maximum) are left out of the slots
    # here already. The loops below run over every (class, slot) pair (over 500,000 at 100,000
    # lines): plain lists and locals, no attribute writes inside them.
    fits = [k.splittable or k.unit <= rules.max_lot for k in classes]
    raw: dict[SlotKey, list[tuple[int, int]]] = defaultdict(list)
    for ci, k in enumerate(classes):
        seg, quarters, charging = k.segment, range(k.earliest, k.latest + 1), k.charging
        for anc, lev in ancestors[k.region]:
            member = (ci, lev)
            for q in quarters:
                for ch in charging:
                    raw[(seg, anc, q, ch)].append(member)

    qty = [k.quantity if fits[ci] else 0 for ci, k in enumerate(classes)]
    nlines = [len(k.lines) for k in classes]
    best_total = [0] * len(classes)
    partner = [False] * len(classes)
    everything_fits = all(fits)
    kept: dict[SlotKey, list[tuple[int, int]]] = {}
    for key, members in raw.items():
        useful = members if everything_fits else [m for m in members if fits[m[0]]]
        total = lines = 0
        for ci, _ in useful:
            total += qty[ci]
            lines += nlines[ci]
        for ci, _ in useful:
            if best_total[ci] < total:
                best_total[ci] = total
            if lines > 1:
                partner[ci] = True
        if total >= rules.min_lot:
            kept[key] = useful
    del raw
    for ci, k in enumerate(classes):
        k.best_total, k.has_partner = best_total[ci], partner[ci]

    # Dominance among slots of the same segment and region.
    by_region: dict[tuple[str, str], list[SlotKey]] = defaultdict(list)
    for key in kept:
        by_region[key[:2]].append(key)
    final: list[SlotKey] = []
    for keys in by_region.values():
        sets = {key: frozenset(ci for ci, _ in kept[key]) for key in keys}
        keys.sort(key=lambda key: (-len(sets[key]), key))
        chosen: list[SlotKey] = []
        for key in keys:
            if not any(sets[key] <= sets[other] for other in chosen):
                chosen.append(key)
        final.extend(chosen)
    final.sort()

    # Components: classes linked by a common slot (union-find).
    parent = list(range(len(classes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key in final:
        first = kept[key][0][0]
        for ci, _ in kept[key][1:]:
            a, b = find(first), find(ci)
            if a != b:
                parent[max(a, b)] = min(a, b)
    in_slot = [False] * len(classes)
    for key in final:
        for ci, _ in kept[key]:
            in_slot[ci] = True
    groups: dict[int, list[int]] = defaultdict(list)
    for ci in range(len(classes)):
        if in_slot[ci]:
            groups[find(ci)].append(ci)
    slots_of: dict[int, list[SlotKey]] = defaultdict(list)
    for key in final:
        slots_of[find(kept[key][0][0])].append(key)

    components = []
    for root in sorted(groups):  # by smallest class key: canonical
        in_component = groups[root]
        local = {ci: i for i, ci in enumerate(in_component)}
        comp_classes = [classes[ci] for ci in in_component]
        slots = []
        for si, key in enumerate(slots_of[root]):
            mem = sorted((local[ci], lev) for ci, lev in kept[key])
            slots.append(Slot(key[1], key[2], key[3], mem, sum(comp_classes[i].quantity for i, _ in mem)))
            for i, lev in mem:
                comp_classes[i].slots.append((si, lev))
        components.append(Component(comp_classes[0].segment, comp_classes, slots))
    unpoolable = [k for ci, k in enumerate(classes) if not in_slot[ci]]
    return Prepared(components, unpoolable, depth)

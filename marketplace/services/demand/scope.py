"""The round's scope, loaded once per use case: what a demand line is checked against."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Region, Round
from marketplace.services import values as V
from marketplace.services.access import Actor
from marketplace.services.demand.quarters import current_quarter


@dataclass
class Scope:
    """What a line is checked against: the round's segments, its region subtree, currency, the current quarter."""

    rnd: Round
    segments: dict[str, str]  # lower-case id or name -> segment id
    segment_names: dict[str, str]  # id -> short name
    regions: dict[str, str]  # lower-case id or name -> region id, only regions within scope
    region_names: dict[str, str]  # id -> name, within scope
    this_quarter: str
    number_format: V.NumberFormat = V.NumberFormat.POINT  # how the fleet types numbers

    @classmethod
    def of(cls, rnd: Round, actor: Actor | None = None) -> Scope:
        segments: dict[str, str] = {}
        names: dict[str, str] = {}
        for seg in rnd.segments:
            names[seg.id] = seg.short_name
            segments[seg.id.lower()] = seg.id
            segments.setdefault(seg.short_name.lower(), seg.id)
            segments.setdefault(seg.name.lower(), seg.id)
        within = scope_regions(rnd)
        by_key: dict[str, str] = {}
        for region in within:
            by_key[region.id.lower()] = region.id
        ambiguous = {r.name.lower() for r in within if sum(1 for x in within if x.name == r.name) > 1}
        for region in within:
            if region.name.lower() not in ambiguous:
                by_key.setdefault(region.name.lower(), region.id)
        return cls(
            rnd=rnd,
            segments=segments,
            segment_names=names,
            regions=by_key,
            region_names={r.id: r.name for r in within},
            this_quarter=current_quarter(),
            number_format=V.number_format_of(actor),
        )


def scope_regions(rnd: Round) -> list[Region]:
    """Every node of the region tree at or below one of the round's scope regions, in tree order."""
    all_regions = db.session.execute(sa.select(Region)).scalars().all()
    children: dict[str | None, list[Region]] = defaultdict(list)
    for region in all_regions:
        children[region.parent_id].append(region)
    out: list[Region] = []
    seen: set[str] = set()

    def walk(region: Region) -> None:
        if region.id in seen:
            return
        seen.add(region.id)
        out.append(region)
        for child in sorted(children.get(region.id, []), key=lambda r: r.name):
            walk(child)

    for top in sorted(rnd.regions, key=lambda r: r.name):
        walk(top)
    return out

"""Who is told of what: pure functions over plain facts (no database), so each rule has its own unit test.

The service (notifications.service) loads the facts of one round and asks these functions which
organizations are entitled to a notice. Sealed information is never an input of a rule that picks
OEMs: an OEM is chosen by its own catalog, capacity and bids, never by another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Region:
    id: str
    level: str  # world_region, country, subdivision, metro
    parent_id: str | None


def covered_countries(round_region_ids: Iterable[str], regions: Mapping[str, Region]) -> frozenset[str]:
    """The countries a round's regions touch: a world region covers its countries; a country itself;
    a state or metro its country (a fleet of that country may have demand there)."""

    def ancestors(region_id: str | None) -> list[str]:
        chain = []
        while region_id is not None and region_id in regions and region_id not in chain:
            chain.append(region_id)
            region_id = regions[region_id].parent_id
        return chain

    chosen = set(round_region_ids)
    countries: set[str] = set()
    for region in regions.values():
        if region.level != "country":
            continue
        if region.id in chosen or chosen & set(ancestors(region.parent_id)):
            countries.add(region.id)
    for region_id in chosen:
        countries.update(r for r in ancestors(region_id) if regions[r].level == "country")
    return frozenset(countries)


@dataclass(frozen=True)
class Scope:
    """What a round is about: its segments and the countries its regions cover."""

    segment_ids: frozenset[str]
    countries: frozenset[str]


@dataclass(frozen=True)
class Fleet:
    organization_id: int
    country: str
    # Segments of the demand it posted in any round: its interests. Empty for a new fleet.
    past_segments: frozenset[str] = frozenset()
    # In this round: how many of its lines are drafts (not committed), committed, and allocations pending.
    draft_lines: int = 0
    lines: int = 0
    pending_allocations: int = 0


@dataclass(frozen=True)
class CatalogModel:
    segment_id: str
    markets: frozenset[str]
    retired: bool = False


@dataclass(frozen=True)
class Oem:
    organization_id: int
    models: tuple[CatalogModel, ...] = ()
    # In this round: its own stated capacity and live bids or packages (never another OEM's).
    has_capacity: bool = False
    live_bids: int = 0

    @property
    def in_the_tender(self) -> bool:
        return self.has_capacity or self.live_bids > 0


@dataclass(frozen=True)
class RoundFacts:
    scope: Scope
    fleets: tuple[Fleet, ...] = ()
    oems: tuple[Oem, ...] = ()
    # Organizations that asked questions about this round (they are participants too).
    askers: frozenset[int] = field(default_factory=frozenset)


def fleet_interested(scope: Scope, fleet: Fleet) -> bool:
    """A round is in a fleet's segments and regions: its country is covered, and it has posted demand in
    one of the round's segments before (a fleet that never posted demand hears of every round at home)."""
    if fleet.country not in scope.countries:
        return False
    return not fleet.past_segments or bool(fleet.past_segments & scope.segment_ids)


def catalog_fits(scope: Scope, oem: Oem) -> bool:
    """An OEM's catalog fits a round: a model still sold, of one of its segments, sold in a covered country."""
    return any(
        not m.retired and m.segment_id in scope.segment_ids and (m.markets & scope.countries or not m.markets)
        for m in oem.models
    )


def round_opened(facts: RoundFacts) -> set[int]:
    """Demand opens: fleets whose segments and regions it is in; OEMs whose catalog fits (to plan ahead)."""
    return {f.organization_id for f in facts.fleets if fleet_interested(facts.scope, f)} | {
        o.organization_id for o in facts.oems if catalog_fits(facts.scope, o)
    }


def demand_deadline_near(facts: RoundFacts) -> set[int]:
    """7 days and 1 day before the demand deadline: fleets with lines not committed yet."""
    return {f.organization_id for f in facts.fleets if f.draft_lines > 0}


def demand_closed(facts: RoundFacts) -> set[int]:
    """Demand closed: every fleet with lines in the round."""
    return {f.organization_id for f in facts.fleets if f.lines > 0 or f.draft_lines > 0}


def lots_published(facts: RoundFacts) -> set[int]:
    """Lots published, bidding open: OEMs whose catalog fits, and OEMs already in the tender."""
    return {o.organization_id for o in facts.oems if catalog_fits(facts.scope, o) or o.in_the_tender}


def bid_deadline_near(facts: RoundFacts) -> set[int]:
    """3 days and 1 day before the bid deadline: OEMs that stated capacity or hold live bids."""
    return {o.organization_id for o in facts.oems if o.in_the_tender}


def bids_closed(facts: RoundFacts) -> set[int]:
    return bid_deadline_near(facts)


def award_published_fleets(facts: RoundFacts) -> set[int]:
    """Each fleet with committed lines is told its own allocation (or that it got none)."""
    return {f.organization_id for f in facts.fleets if f.lines > 0}


def award_published_oems(facts: RoundFacts) -> set[int]:
    """Each OEM that took part is told its own result only."""
    return {o.organization_id for o in facts.oems if o.in_the_tender}


def confirmations_due(facts: RoundFacts) -> set[int]:
    """Confirmations open, and 3 days and 1 day before their deadline: fleets with allocations pending."""
    return {f.organization_id for f in facts.fleets if f.pending_allocations > 0}


def participants(facts: RoundFacts) -> set[int]:
    """Everyone taking part in a round, who hears of each published clarification answer: fleets with
    lines, OEMs in the tender or whose catalog fits, and the organizations that asked questions."""
    return (
        {f.organization_id for f in facts.fleets if f.lines > 0 or f.draft_lines > 0}
        | {o.organization_id for o in facts.oems if o.in_the_tender or catalog_fits(facts.scope, o)}
        | set(facts.askers)
    )


# ---------------------------------------------------------------- reminders: which one is due now


DEMAND_REMINDERS = ((7, "7 days"), (1, "1 day"))
BID_REMINDERS = ((3, "3 days"), (1, "1 day"))
CONFIRMATION_REMINDERS = ((3, "3 days"), (1, "1 day"))


def due_reminder(seconds_left: float, steps: tuple[tuple[int, str], ...]) -> tuple[int, str] | None:
    """The reminder that is due when the deadline is `seconds_left` away: the closest step not yet past
    (7 days covers 1 to 7 days left, 1 day covers the last day); None when the deadline passed or is
    further away than the first step."""
    if seconds_left <= 0:
        return None
    days_left = seconds_left / 86400
    due = None
    for days, label in steps:  # from the largest step down
        if days_left <= days:
            due = (days, label)
    return due

"""Reading a fleet's demand: the round as a fleet sees it, its lines and their totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, Region, Round, RoundPhase, Segment
from marketplace.pagination import contains
from marketplace.services import access, rounds
from marketplace.services.access import Actor


def round_for_fleet(round_id: int, actor: Actor | None) -> Round:
    """A round as a fleet may see it: drafts are not published, so they do not exist for fleets."""
    access.require_fleet(actor)
    return access.visible(actor, rounds.load_round(round_id))


def open_round(round_id: int, actor: Actor | None, *, doing: str) -> Round:
    """The round, refused unless demand is open at this second (the server clock decides)."""
    rnd = round_for_fleet(round_id, actor)
    rounds.require_phase(rnd, RoundPhase.DEMAND_OPEN, doing=doing)
    return rnd


def locked_open_round(round_id: int, actor: Actor | None, *, doing: str) -> Round:
    """`open_round` for a write: the round locked (`rounds.lock`), so the write is in before demand closes."""
    access.require_fleet(actor)
    rnd = access.visible(actor, rounds.lock(round_id))
    rounds.require_phase(rnd, RoundPhase.DEMAND_OPEN, doing=doing)
    return rnd


def committed_totals(round_id: int | None = None) -> dict[int, tuple[int, int]]:
    """Per round (or for one round): (committed lines, committed vehicles), for the coordinators' pages."""
    query = (
        sa.select(DemandLine.round_id, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity))
        .where(DemandLine.status == DemandStatus.COMMITTED)
        .group_by(DemandLine.round_id)
    )
    if round_id is not None:
        query = query.where(DemandLine.round_id == round_id)
    return {rid: (n, int(q or 0)) for rid, n, q in db.session.execute(query)}


def totals_by_round(actor: Actor) -> dict[int, dict[str, int]]:
    """The fleet's live lines, vehicles and committed vehicles per round (withdrawn lines left out)."""
    rows = db.session.execute(
        access.own_rows(
            actor,
            sa.select(
                DemandLine.round_id, DemandLine.status, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity)
            ),
            DemandLine,
        ).group_by(DemandLine.round_id, DemandLine.status)
    )
    mine: dict[int, dict[str, int]] = {}
    for round_id, status, n, q in rows:
        if status is DemandStatus.WITHDRAWN:
            continue
        entry = mine.setdefault(round_id, {"lines": 0, "vehicles": 0, "committed": 0})
        entry["lines"] += n
        entry["vehicles"] += int(q or 0)
        if status is DemandStatus.COMMITTED:
            entry["committed"] += int(q or 0)
    return mine


def lines_query(rnd: Round, actor: Actor) -> sa.Select:
    """The actor's organization's lines in a round, for a page of them (the round page pages them)."""
    return sa.select(DemandLine).where(
        DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id
    )


WITHDRAWN_LAST = DemandLine.status == DemandStatus.WITHDRAWN


LINE_SORTS = {
    "line": [WITHDRAWN_LAST, DemandLine.id],
    "segment": [DemandLine.segment_id, DemandLine.region_id, DemandLine.id],
    "region": [DemandLine.region_id, DemandLine.id],
    "quantity": [DemandLine.quantity, DemandLine.id],
    "price": [DemandLine.max_unit_price, DemandLine.id],
    "status": [DemandLine.status, DemandLine.id],
}


def _status_filter(text: str) -> sa.ColumnElement[bool] | None:
    # A status the list does not offer (an edited link) is ignored (None), as pagination.paginate says.
    wanted = [s for s in DemandStatus if s.value.startswith(text.strip().lower())]
    return DemandLine.status.in_(wanted) if wanted else None


# Segment and region by the name the table shows ("Transit bus", "Houston") or by their code (transit_bus, US-TX).
LINE_FILTERS = {
    "segment": lambda text: (
        DemandLine.segment.has(Segment.name.ilike(contains(text))) | DemandLine.segment_id.ilike(contains(text))
    ),
    "region": lambda text: (
        DemandLine.region.has(Region.name.ilike(contains(text))) | DemandLine.region_id.ilike(contains(text))
    ),
    "status": _status_filter,
}


@dataclass
class Totals:
    lines: int = 0
    vehicles: int = 0
    committed_lines: int = 0
    committed_vehicles: int = 0
    draft_lines: int = 0
    withdrawn_lines: int = 0


def totals_for(rnd: Round, actor: Actor) -> Totals:
    """The round page's totals over all the actor's lines, summed in SQL (not from the page shown)."""
    t = Totals()
    rows = db.session.execute(
        sa.select(
            DemandLine.status, sa.func.count(DemandLine.id), sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)
        )
        .where(DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id)
        .group_by(DemandLine.status)
    ).all()
    for status, count, vehicles in rows:
        if status is DemandStatus.WITHDRAWN:
            t.withdrawn_lines += count
            continue
        t.lines += count
        t.vehicles += int(vehicles)
        if status is DemandStatus.COMMITTED:
            t.committed_lines += count
            t.committed_vehicles += int(vehicles)
        else:
            t.draft_lines += count
    return t


def totals_of(lines: Iterable[DemandLine]) -> Totals:
    t = Totals()
    for line in lines:
        if line.status is DemandStatus.WITHDRAWN:
            t.withdrawn_lines += 1
            continue
        t.lines += 1
        t.vehicles += line.quantity
        if line.status is DemandStatus.COMMITTED:
            t.committed_lines += 1
            t.committed_vehicles += line.quantity
        else:
            t.draft_lines += 1
    return t


def lines_of(rnd: Round, actor: Actor) -> list[DemandLine]:
    """The actor's organization's lines in a round, withdrawn ones last."""
    return list(
        db.session.execute(
            sa.select(DemandLine)
            .where(DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id)
            .order_by((DemandLine.status == DemandStatus.WITHDRAWN), DemandLine.id)
        ).scalars()
    )


def own_lines_query(rnd: Round, actor: Actor, *, withdrawn: bool = True) -> sa.Select[Any]:
    """The actor's organization's lines in a round, as a query to page through (the API)."""
    access.require_fleet(actor)
    query = access.own_rows(actor, sa.select(DemandLine).where(DemandLine.round_id == rnd.id), DemandLine)
    if not withdrawn:
        query = query.where(DemandLine.status != DemandStatus.WITHDRAWN)
    return query

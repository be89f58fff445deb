"""The coordinator's view of the published award's backups: one page of them, each with what it
would replace now and whether it can be promoted."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import (
    Allocation,
    Backup,
    BackupAllocation,
    DemandLine,
    Lot,
    Organization,
    Round,
    RoundPhase,
)
from marketplace.pagination import contains
from marketplace.services import access, rounds
from marketplace.services.access import Actor
from marketplace.services.backups.rules import CS, HELD, PROMOTION_PHASES, _money
from marketplace.services.errors import Conflict

# ---------------------------------------------------------------- what the coordinator sees


class Supplier(NamedTuple):
    """A backup supplier of one backup, and how many vehicles it would take on if the backup were promoted now."""

    id: int
    name: str
    vehicles: int


@dataclass
class BackupView:
    """One winner of one lot in the published award, and who would replace it (figures summed in SQL)."""

    backup: Backup
    held_vehicles: int = 0  # the winner's live vehicles in the lot (what a promotion takes back)
    held_value: Decimal = Decimal("0")  # ... at the winner's prices
    # Of those, how many the backup delivers if promoted now, and at what price in all: the solver computed the
    # backup for every vehicle the winner won (`backup.quantity`); lines a fleet declined since are not replaced.
    replaceable: int = 0
    replaceable_value: Decimal = Decimal("0")
    suppliers: list[Supplier] = field(default_factory=list)
    offered_vehicles: int = 0  # what the promotion offered (once promoted), in every state
    offered_value: Decimal = Decimal("0")
    offered_states: frozenset[CS] = frozenset()
    blocked: str = ""  # why it cannot be promoted now ("" when it can)

    @property
    def extra_percent(self) -> float | None:
        """How much more (or less) a vehicle costs from the backup than from the winner, on average, in percent:
        what replacing the winner costs the fleets (None when there is nothing to compare)."""
        if not self.replaceable or not self.held_vehicles or not self.held_value:
            return None
        backup_each = self.replaceable_value / self.replaceable
        winner_each = self.held_value / self.held_vehicles
        return float((backup_each / winner_each - 1) * 100)

    @property
    def state(self) -> str:
        """In words: not promoted, waiting for a supplier, accepted, refused."""
        if self.backup.promoted_at is None:
            return "not promoted"
        states = self.offered_states
        if not states:
            return "promoted: nobody could replace"
        if CS.OFFERED in states:
            return "waiting for the backup supplier"
        if states <= {CS.REFUSED}:
            return "refused by the backup supplier"
        return "accepted: fleets re-confirm" if CS.PENDING in states else "accepted"


_BACKUP = (joinedload(Backup.lot), joinedload(Backup.withdrawn))
_BACKUP_ROWS = (
    *_BACKUP,
    selectinload(Backup.rows).options(
        joinedload(BackupAllocation.supplier),
        joinedload(BackupAllocation.vehicle_model),
        joinedload(BackupAllocation.demand_line).joinedload(DemandLine.organization),
    ),
)


def _published(rnd: Round) -> int:
    """The published scenario's id (contracting.published_scenario's rule; contracting imports this package)."""
    phase = rounds.effective_phase(rnd)
    if phase not in (*PROMOTION_PHASES, RoundPhase.CLOSED) or rnd.published_scenario_id is None:
        raise Conflict(f"The award of this round is not published yet (it is “{phase.label}”).")
    return rnd.published_scenario_id


# The backups page lists one row per (lot, winner): hundreds to thousands at coalition scale, so it pages in SQL
# (marketplace.pagination) and sums what a row shows in SQL for the rows of its page only.
_WINNER = aliased(Organization)
OVERVIEW_SORTS = {
    "lot": [Lot.id, _WINNER.name],
    "winner": [_WINNER.name, Lot.id],
    "vehicles": [Backup.quantity, Lot.id, _WINNER.name],
}
SHOW = {
    "a backup can replace": Backup.covered_quantity > 0,
    "nobody can replace": Backup.covered_quantity == 0,
    "promoted": Backup.promoted_at.is_not(None),
}
OVERVIEW_FILTERS = {
    "lot": lambda v: Lot.code.ilike(contains(v)),
    "winner": lambda v: _WINNER.name.ilike(contains(v)),
    "backup": lambda v: Backup.rows.any(BackupAllocation.supplier.has(Organization.name.ilike(contains(v)))),
    "show": SHOW.get,  # a value the list does not offer (an edited link) is ignored: None
}


@dataclass
class Overview:
    """The backups of a round's published award: the query of its rows (the view pages it) and its counts."""

    round: Round
    scenario_id: int
    backups: sa.Select
    winners: int  # (lot, winner) pairs of the award
    replaceable: int  # ... whose backup covers every vehicle the winner won
    partly: int  # ... whose backup covers some of them
    nobody: int  # ... that nobody can replace
    promoted: int


def overview_query(round_id: int, actor: Actor) -> Overview:
    """Every backup of the published award, by lot and winner, as a query to page, with the page's counts."""
    access.require_coordinator(actor)
    rnd = rounds.load_round(round_id)
    scenario_id = _published(rnd)
    query = (
        sa.select(Backup)
        .join(Lot, Lot.id == Backup.lot_id)
        .join(_WINNER, _WINNER.id == Backup.withdrawn_id)
        .where(Backup.scenario_id == scenario_id)
        .options(*_BACKUP)
    )
    whole = Backup.covered_quantity >= Backup.quantity
    some = sa.and_(Backup.covered_quantity > 0, Backup.covered_quantity < Backup.quantity)
    winners, replaceable, partly, nobody, promoted = db.session.execute(
        sa.select(
            sa.func.count(Backup.id),
            sa.func.coalesce(sa.func.sum(sa.case((whole, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((some, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((Backup.covered_quantity == 0, 1), else_=0)), 0),
            sa.func.count(Backup.promoted_at),
        ).where(Backup.scenario_id == scenario_id)
    ).one()
    return Overview(rnd, scenario_id, query, winners, replaceable, partly, nobody, promoted)


def views_of(overview: Overview, found: list[Backup]) -> list[BackupView]:
    """What the backups page shows for these backups (a page of them), in a fixed number of statements."""
    return _views(overview.round, overview.scenario_id, found)


def overview(round_id: int, actor: Actor) -> tuple[Round, list[BackupView]]:
    """Every backup of the published award, by lot, with what promoting it would take back (not paged)."""
    found = overview_query(round_id, actor)
    backups = list(db.session.execute(found.backups.order_by(*OVERVIEW_SORTS["lot"])).unique().scalars())
    return found.round, views_of(found, backups)


def _held(scenario_id: int) -> sa.Select:
    """The winners' allocations a promotion would take back: from the award itself, not declined."""
    return sa.select(Allocation).where(
        Allocation.scenario_id == scenario_id, Allocation.backup_id.is_(None), Allocation.confirmation.in_(HELD)
    )


def _views(rnd: Round, scenario_id: int, found: list[Backup]) -> list[BackupView]:
    """Views of some backups: their winners' live vehicles, what their backups would replace, what was offered."""
    if not found:
        return []
    ids = [b.id for b in found]
    views = {b.id: BackupView(b) for b in found}
    held = _held(scenario_id).subquery()
    for backup_id, vehicles, value in db.session.execute(
        sa.select(Backup.id, sa.func.sum(held.c.quantity), sa.func.sum(held.c.quantity * held.c.unit_price))
        .join(held, sa.and_(held.c.lot_id == Backup.lot_id, held.c.organization_id == Backup.withdrawn_id))
        .where(Backup.id.in_(ids))
        .group_by(Backup.id)
    ):
        views[backup_id].held_vehicles = int(vehicles)
        views[backup_id].held_value = _money(value or 0)
    held_lines = (
        sa.select(held.c.lot_id, held.c.organization_id, held.c.demand_line_id).distinct().subquery()
    )  # a line may hold a bid's and a package's vehicles of the same winner: counted once
    live = held_lines.c.demand_line_id.is_not(None)
    for backup_id, supplier_id, name, vehicles, value in db.session.execute(
        sa.select(
            BackupAllocation.backup_id,
            Organization.id,
            Organization.name,
            sa.func.sum(sa.case((live, BackupAllocation.quantity), else_=0)),
            sa.func.sum(sa.case((live, BackupAllocation.quantity * BackupAllocation.unit_price), else_=0)),
        )
        .join(Backup, Backup.id == BackupAllocation.backup_id)
        .join(Organization, Organization.id == BackupAllocation.organization_id)
        .outerjoin(
            held_lines,
            sa.and_(
                held_lines.c.lot_id == Backup.lot_id,
                held_lines.c.organization_id == Backup.withdrawn_id,
                held_lines.c.demand_line_id == BackupAllocation.demand_line_id,
            ),
        )
        .where(BackupAllocation.backup_id.in_(ids))
        .group_by(BackupAllocation.backup_id, Organization.id, Organization.name)
        .order_by(BackupAllocation.backup_id, Organization.name)
    ):
        view = views[backup_id]
        view.suppliers.append(Supplier(supplier_id, name, int(vehicles or 0)))
        view.replaceable += int(vehicles or 0)
        view.replaceable_value += _money(value or 0)
    for backup_id, state, vehicles, value in db.session.execute(
        sa.select(
            Allocation.backup_id,
            Allocation.confirmation,
            sa.func.sum(Allocation.quantity),
            sa.func.sum(Allocation.quantity * Allocation.unit_price),
        )
        .where(Allocation.backup_id.in_(ids))
        .group_by(Allocation.backup_id, Allocation.confirmation)
    ):
        assert backup_id is not None  # filtered on the backups' ids
        view = views[backup_id]
        view.offered_states |= {state}
        view.offered_vehicles += int(vehicles)
        view.offered_value += _money(value)
    facts = _facts(rnd, scenario_id, {s.id for v in views.values() for s in v.suppliers})
    for view in views.values():
        view.blocked = _blocked(rnd, view, facts)
    return [views[i] for i in ids]


@dataclass
class _Facts:
    """What every backup's check reads, loaded once per page (not once per backup)."""

    promoted: list[tuple[int, int]]  # (lot, supplier that dropped out) of promoted backups
    capacity: dict[int, int]  # supplier -> its capacity for the round
    holds: dict[int, int]  # supplier -> vehicles it holds in the award (pending, confirmed or offered)


def _facts(rnd: Round, scenario_id: int, suppliers: set[int]) -> _Facts:
    from marketplace.models import RoundCapacity

    promoted = db.session.execute(
        sa.select(Backup.lot_id, Backup.withdrawn_id).where(
            Backup.scenario_id == scenario_id, Backup.promoted_at.is_not(None)
        )
    ).all()
    capacity = db.session.execute(
        sa.select(RoundCapacity.organization_id, RoundCapacity.capacity).where(
            RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id.in_(suppliers)
        )
    ).all()
    holds = db.session.execute(
        sa.select(Allocation.organization_id, sa.func.sum(Allocation.quantity))
        .where(
            Allocation.scenario_id == scenario_id,
            Allocation.organization_id.in_(suppliers),
            Allocation.confirmation.in_((CS.PENDING, CS.CONFIRMED, CS.OFFERED)),
        )
        .group_by(Allocation.organization_id)
    ).all()
    return _Facts(
        [(lot, org) for lot, org in promoted],
        {org: cap for org, cap in capacity},
        {org: int(n) for org, n in holds},
    )


def _blocked(rnd: Round, view: BackupView, facts: _Facts) -> str:
    """Why this backup cannot be promoted now, in words ("" when it can)."""
    backup = view.backup
    if backup.promoted_at is not None:
        return "It was promoted already."
    if rnd.phase not in PROMOTION_PHASES:
        return f"The round is in phase “{rnd.phase.label}”: backups are promoted while awarded or in contracting."
    if not view.held_vehicles:
        return f"{backup.withdrawn.name} holds no allocation of this lot that a fleet has not declined."
    promoted = facts.promoted
    if any(lot_id == backup.lot_id for lot_id, _ in promoted):
        return (
            "Another backup of this lot was promoted already: each backup was computed with the other winners "
            "in place, so this lot needs a new award scenario."
        )
    dropped = {org_id for _, org_id in promoted}
    for supplier in view.suppliers:
        if supplier.id in dropped:
            return f"The backup supplier {supplier.name} dropped out of this award itself."
    capacity = facts.capacity
    for supplier in view.suppliers:
        holds = facts.holds.get(supplier.id, 0)
        if holds + supplier.vehicles > capacity.get(supplier.id, 0):
            return (
                f"{supplier.name} stated a capacity of {count_of(capacity.get(supplier.id, 0), 'vehicle')} for this "
                f"round and already holds {holds:,}: it cannot take {supplier.vehicles:,} more."
            )
    return ""

"""Who may see and change what: the one access policy of the services.

Every use case receives its actor (the user, their organization and its role) as an argument and
asks this module; nothing here reads `flask_login.current_user`, so the web views, the JSON API
(an organization's token) and the CLI go through the same rules. View decorators
(`marketplace.access.role_required`) only gate pages by role before a service is called.

Two kinds of answer:
- a role the actor lacks is refused with `Forbidden` (403, a message naming the role);
- another organization's object does not exist for the actor: the `own_*` loaders answer
  `NotFound` (404) exactly as for an unknown id, so its existence does not leak.

Loaders take the actor first and an id: the integer id, or the random public id members see in
URLs (bids, packages, allocations, deposits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    Approval,
    AwardScenario,
    Bid,
    DemandLine,
    Deposit,
    Organization,
    OrganizationKind,
    PackageBid,
    PoolingRun,
    Round,
    RoundPhase,
    User,
    VehicleModel,
)
from marketplace.services.errors import Forbidden, NotFound

M = TypeVar("M")


class Actor(Protocol):
    """Who acts: a logged-in `User` is one; so is an `OrganizationActor` (an API token, a job)."""

    @property
    def id(self) -> int | None: ...  # the user, for the audit log (None when no person acts)

    @property
    def organization_id(self) -> int: ...

    @property
    def organization(self) -> Organization: ...

    @property
    def kind(self) -> OrganizationKind: ...

    @property
    def is_coordinator(self) -> bool: ...


@dataclass(frozen=True)
class OrganizationActor:
    """An organization acting without a web session (an API token), optionally on behalf of a user."""

    organization: Organization
    user: User | None = None

    @property
    def id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def organization_id(self) -> int:
        return self.organization.id

    @property
    def kind(self) -> OrganizationKind:
        return self.organization.kind

    @property
    def is_coordinator(self) -> bool:
        return self.organization.kind is OrganizationKind.COORDINATOR

    @property
    def time_zone(self) -> str:
        return self.user.time_zone if self.user is not None else "UTC"

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else self.organization.name


# ---------------------------------------------------------------- roles


def is_coordinator(actor: Actor | None) -> bool:
    return actor is not None and actor.is_coordinator


def awaiting_message(org: Organization) -> str:
    """Why a fleet or OEM not (yet) approved cannot act."""
    if org.approval is Approval.REJECTED:
        return f"“{org.name}” was not approved by the coalition's coordinators, so it cannot act here. Contact them if this is a mistake."
    return (
        f"“{org.name}” is awaiting approval by the coalition's coordinators. Once approved you can post demand, "
        "state capacity and bid; until then nothing can be done for it here."
    )


def require_approved(actor: Actor) -> Actor:
    """A fleet or OEM acts only once a coordinator has approved its organization."""
    if not actor.organization.approved:
        raise Forbidden(awaiting_message(actor.organization))
    return actor


def require_coordinator(actor: Actor | None, message: str = "Only a coordinator can do this.") -> Actor:
    if actor is None or not actor.is_coordinator:
        raise Forbidden(message)
    return actor


def require_kind(actor: Actor | None, kind: OrganizationKind, message: str) -> Actor:
    """An organization of this role, approved or not (reads of what it already has)."""
    if actor is None or actor.kind is not kind:
        raise Forbidden(message)
    return actor


def require_fleet(actor: Actor | None, message: str = "Only a fleet can post demand.") -> Actor:
    """A fleet of an approved organization."""
    if actor is None or actor.kind is not OrganizationKind.FLEET:
        raise Forbidden(message)
    return require_approved(actor)


def require_oem(actor: Actor | None, message: str = "Only an OEM keeps a catalog and bids.") -> Actor:
    """An OEM of an approved organization."""
    if actor is None or actor.kind is not OrganizationKind.OEM:
        raise Forbidden(message)
    return require_approved(actor)


# ---------------------------------------------------------------- rounds


def may_see_round(actor: Actor | None, rnd: Round) -> bool:
    """A coordinator sees every round; fleets and OEMs see a round once it is past draft."""
    return is_coordinator(actor) or (actor is not None and rnd.phase is not RoundPhase.DRAFT)


def visible(actor: Actor | None, rnd: Round) -> Round:
    """The round if the actor may see it; a draft does not exist for fleets and OEMs (404)."""
    if not may_see_round(actor, rnd):
        raise NotFound("No such round.")
    return rnd


def visible_rounds_query(actor: Actor) -> sa.Select[Round]:
    """The rounds an actor may see listed, newest first."""
    query = sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())
    if not actor.is_coordinator:
        query = query.where(Round.phase != RoundPhase.DRAFT)
    return query


# ---------------------------------------------------------------- private rows


def scoped(actor: Actor, query: sa.Select[*tuple[Any, ...]], model: Any) -> sa.Select[*tuple[Any, ...]]:
    """Restrict a query of private rows (with an `organization_id`) to the actor's organization.

    Coordinators see every organization's rows.
    """
    if actor.is_coordinator:
        return query
    return query.where(model.organization_id == actor.organization_id)


def owns(actor: Actor | None, obj: Any) -> bool:
    """Whether a private row (with an `organization_id`) belongs to the actor's organization."""
    return actor is not None and obj.organization_id == actor.organization_id


def own_rows(actor: Actor, query: sa.Select[*tuple[Any, ...]], model: Any) -> sa.Select[*tuple[Any, ...]]:
    """Restrict a query to the actor's organization's rows, whoever the actor is (coordinators too)."""
    return query.where(model.organization_id == actor.organization_id)


def _by_id(model: Any, key: int | str) -> Any:
    """`model.id == key`, or its public id when the key is a string of letters (URLs, the API)."""
    if isinstance(key, str) and hasattr(model, "public_id"):
        if key.isdigit():
            # A public id may be all digits; the public id wins, then the integer id.
            return sa.or_(model.public_id == key, model.id == int(key))
        return model.public_id == key
    try:
        return model.id == int(key)
    except (TypeError, ValueError):
        return sa.false()


def _one(query: sa.Select[Any], message: str) -> Any:
    row = db.session.execute(query).scalars().first()
    if row is None:
        raise NotFound(message)
    return row


def own_line(actor: Actor | None, line_id: int | str) -> DemandLine:
    """The fleet's own demand line; another organization's line does not exist for it (404)."""
    actor = require_fleet(actor)
    return _one(
        sa.select(DemandLine).where(_by_id(DemandLine, line_id), DemandLine.organization_id == actor.organization_id),
        "No such demand line.",
    )


def own_bid(actor: Actor | None, bid_id: int | str, *options: Any) -> Bid:
    """One of the OEM's bids; another OEM's answers 404 (its existence does not leak)."""
    actor = require_oem(actor)
    return _one(
        sa.select(Bid).where(_by_id(Bid, bid_id), Bid.organization_id == actor.organization_id).options(*options),
        "No such bid.",
    )


def own_package(actor: Actor | None, package_id: int | str) -> PackageBid:
    """One of the OEM's package bids; another OEM's answers 404."""
    actor = require_oem(actor)
    return _one(
        sa.select(PackageBid).where(
            _by_id(PackageBid, package_id), PackageBid.organization_id == actor.organization_id
        ),
        "No such package.",
    )


def own_model(actor: Actor | None, model_id: int | str) -> VehicleModel:
    """One of the OEM's catalog models; another organization's answers 404."""
    actor = require_oem(actor)
    return _one(
        sa.select(VehicleModel).where(
            _by_id(VehicleModel, model_id), VehicleModel.organization_id == actor.organization_id
        ),
        "No such model in your catalog.",
    )


def own_deposit(actor: Actor | None, deposit_id: int | str) -> Deposit:
    """A fleet's own deposit (another organization's answers 404); a coordinator sees any."""
    if actor is None:
        raise NotFound("No such deposit.")
    query = sa.select(Deposit).where(_by_id(Deposit, deposit_id))
    return _one(scoped(actor, query, Deposit), "No such deposit.")


def fleet_allocation(actor: Actor | None, allocation_id: int | str, *, for_update: bool = False) -> Allocation:
    """An allocation of one of the fleet's own demand lines (another organization's answers 404).

    Only the fleet that owns the line decides it; the caller checks it belongs to the published award.
    """
    if actor is None:
        raise NotFound("No such allocation.")
    query = (
        sa.select(Allocation)
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(_by_id(Allocation, allocation_id), DemandLine.organization_id == actor.organization_id)
    )
    if for_update:
        # Read afresh: the allocation may have been loaded before its round was locked.
        query = query.with_for_update(of=Allocation).execution_options(populate_existing=True)
    return _one(query, "No such allocation.")


def may_see_allocation(actor: Actor | None, allocation: Allocation) -> bool:
    """The coordinators, the fleet whose line it serves and the OEM that supplies it."""
    if actor is None:
        return False
    return (
        actor.is_coordinator
        or allocation.organization_id == actor.organization_id
        or allocation.demand_line.organization_id == actor.organization_id
    )


def scenario(actor: Actor | None, scenario_id: int) -> AwardScenario:
    """An award scenario: coordinators only (it names every bid's price)."""
    require_coordinator(actor)
    found = db.session.get(AwardScenario, scenario_id)
    if found is None:
        raise NotFound("No such award scenario.")
    return found


def pooling_run(actor: Actor | None, run_id: int) -> PoolingRun:
    """A pooling run: coordinators only."""
    require_coordinator(actor)
    found = db.session.get(PoolingRun, run_id)
    if found is None:
        raise NotFound("No such pooling run.")
    return found


def organization(actor: Actor, org_id: int) -> Organization:
    """An organization's page: its own members and coordinators only; others get 404, not a hint."""
    org = db.session.get(Organization, org_id)
    if org is None or (org.id != actor.organization_id and not actor.is_coordinator):
        raise NotFound("No such organization.")
    return org

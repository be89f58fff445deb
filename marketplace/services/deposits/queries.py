"""Reading deposits: a round's, a fleet's, their pages and their money totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import DemandLine, Deposit, DepositState
from marketplace.models.deposit import ZERO
from marketplace.services import access
from marketplace.services.access import Actor

# Deposits are named by their line in words (segment, region, window, quantity): loaded with them.
_LINE_IN_WORDS = joinedload(Deposit.demand_line).options(joinedload(DemandLine.segment), joinedload(DemandLine.region))


def deposits_of_round(round_id: int) -> list[Deposit]:
    return list(
        db.session.execute(
            sa.select(Deposit)
            .where(Deposit.round_id == round_id)
            .options(_LINE_IN_WORDS, joinedload(Deposit.organization))
            .order_by(Deposit.id)
        ).scalars()
    )


def round_deposits_query(round_id: int) -> sa.Select:
    """A round's deposits with their fleet and line, for a page of them."""
    return (
        sa.select(Deposit).where(Deposit.round_id == round_id).options(joinedload(Deposit.organization), _LINE_IN_WORDS)
    )


def org_deposits_query(organization_id: int) -> sa.Select:
    """A fleet's deposits in every round, with their round and line, for a page of them."""
    return (
        sa.select(Deposit)
        .where(Deposit.organization_id == organization_id)
        .options(joinedload(Deposit.round), _LINE_IN_WORDS)
    )


def _state_filter(text: str) -> sa.ColumnElement[bool]:
    wanted = [s for s in DepositState if s.value.startswith(text.strip().lower())]
    return Deposit.state.in_(wanted) if wanted else sa.false()


DEPOSIT_SORTS = {
    "deposit": Deposit.id,
    "amount": [Deposit.amount, Deposit.id],
    "state": [Deposit.state, Deposit.id],
}


DEPOSIT_FILTERS = {"state": _state_filter}


@dataclass
class Totals:
    """Money of a set of deposits; `balanced` checks held = applied + forfeited + refunded + released + still held."""

    count_by_state: dict[str, int] = field(default_factory=dict)
    amount_by_state: dict[str, Decimal] = field(default_factory=dict)
    asked: Decimal = ZERO
    held: Decimal = ZERO
    applied: Decimal = ZERO
    forfeited: Decimal = ZERO
    refunded: Decimal = ZERO
    released: Decimal = ZERO
    still_held: Decimal = ZERO

    @property
    def balanced(self) -> bool:
        return self.held == self.applied + self.forfeited + self.refunded + self.released + self.still_held


def totals_of_query(*where: sa.ColumnElement[bool]) -> Totals:
    """The totals of every deposit matching `where`, summed in SQL by state (not from the page shown)."""
    t = Totals(count_by_state={s.value: 0 for s in DepositState}, amount_by_state={s.value: ZERO for s in DepositState})
    money = (Deposit.amount, Deposit.held_amount, Deposit.applied_amount, Deposit.forfeited_amount,
             Deposit.refunded_amount, Deposit.released_amount)  # fmt: skip
    sums = [sa.func.coalesce(sa.func.sum(c), 0) for c in money]
    rows = db.session.execute(
        sa.select(Deposit.state, sa.func.count(Deposit.id), *sums).where(*where).group_by(Deposit.state)
    ).all()
    for state, count, *sums_of_state in rows:
        amount, held, applied, forfeited, refunded, released = (Decimal(v) for v in sums_of_state)
        t.count_by_state[state.value] += count
        t.amount_by_state[state.value] += amount
        t.asked += amount
        t.held += held
        t.applied += applied
        t.forfeited += forfeited
        t.refunded += refunded
        t.released += released
        t.still_held += held - applied - forfeited - refunded - released
    return t


def totals(deposits: Iterable[Deposit]) -> Totals:
    t = Totals(count_by_state={s.value: 0 for s in DepositState}, amount_by_state={s.value: ZERO for s in DepositState})
    for dep in deposits:
        t.count_by_state[dep.state.value] += 1
        t.amount_by_state[dep.state.value] += dep.amount
        t.asked += dep.amount
        t.held += dep.held_amount
        t.applied += dep.applied_amount
        t.forfeited += dep.forfeited_amount
        t.refunded += dep.refunded_amount
        t.released += dep.released_amount
        t.still_held += dep.still_held
    return t


def deposits_of_org(organization_id: int) -> list[Deposit]:
    return list(
        db.session.execute(
            sa.select(Deposit)
            .where(Deposit.organization_id == organization_id)
            .options(_LINE_IN_WORDS, joinedload(Deposit.round))
            .order_by(Deposit.id.desc())
        ).scalars()
    )


def own_deposits_query(actor: Actor) -> sa.Select[Any]:
    """A fleet's own deposits, as a query to page through (the API)."""
    access.require_fleet(actor)
    return access.own_rows(actor, sa.select(Deposit), Deposit)

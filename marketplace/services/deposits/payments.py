"""What the gateway says about a hold, applied to the ledger: forward only, amounts that only grow.

Arrival order never decides: a fact the ledger is already past changes nothing, and one the
transition table cannot reach from here (a capture after a release) is a conflict that changes
nothing and is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketplace import gateways
from marketplace.gateways import Payment, from_minor
from marketplace.models import Deposit
from marketplace.services import audit
from marketplace.services.deposits.ledger import OUT, UNPAID, S, _change, _commit_line


@dataclass
class Applied:
    changed: bool = False
    conflict: bool = False
    audited: bool = False  # the conflict already has its audit entry
    note: str = ""


def _differs_from_deposit(dep: Deposit, payment: Payment) -> str:
    """How a hold Stripe reports differs from the deposit asked ("" when it is the same money)."""
    if payment.currency.upper() != dep.currency.upper():
        return f"a hold in {payment.currency or 'no currency'} on a deposit in {dep.currency}"
    wanted = gateways.to_minor(dep.amount, dep.currency)
    if payment.amount != wanted:
        return (
            f"a hold of {gateways.from_minor(payment.amount, dep.currency)} {dep.currency} "
            f"on a deposit of {dep.amount} {dep.currency}"
        )
    return ""


def apply_payment(dep: Deposit, payment: Payment, *, source: str) -> Applied:
    """Move the ledger toward what the gateway says about the hold, forward only (see the module docstring).

    Facts only ever add: a hold, a capture, a refund, a release, a failure. A fact the ledger is
    already past changes nothing; one the table cannot reach from here (a capture after a release)
    is a conflict, changes nothing, and is reported.
    """
    cur = dep.currency
    status = payment.status
    result = Applied()
    hold = from_minor(payment.capturable or payment.amount, cur)
    if status == "canceled":
        if dep.state in (*UNPAID, S.HELD):
            result.changed = _change(
                dep,
                S.RELEASED,
                None,
                summary=f"Hold released ({source}): nothing was charged.",
                released=dep.released_amount + dep.still_held,
            )
        elif dep.state is not S.RELEASED:
            result.conflict = True
    elif status in ("requires_capture", "succeeded") and (differs := _differs_from_deposit(dep, payment)):
        # Never "held" for a hold of another amount or currency (1 cent on 1,000.00 USD, or EUR on USD):
        # the line stays uncommitted and people look at it.
        result.conflict = result.audited = True
        audit.record(
            None,
            "deposit.conflict",
            dep,
            summary=f"Stripe reports {differs} ({source}): not counted as held, the line is not committed.",
            after={"stripe_amount": payment.amount, "stripe_currency": payment.currency},
            round_id=dep.round_id,
        )
        return _noted(result, f"hold differs from the deposit: {differs}")
    elif status == "requires_capture":
        if dep.state in UNPAID:
            result.changed = _change(
                dep,
                S.HELD,
                None,
                summary=f"Deposit held on the card ({source}).",
                failure="",
                held=min(hold, dep.amount),
            )
            _commit_line(dep, release_if_late=True)
        elif dep.state is S.RELEASED and dep.held_amount == 0:
            # The release arrived before the hold: it was a hold, released in full.
            result.changed = _change(dep, S.RELEASED, None, summary=f"Hold seen ({source}).", held=hold, released=hold)
    elif status == "succeeded":
        captured = from_minor(payment.captured, cur)
        refunded = from_minor(payment.refunded, cur)
        if dep.state is S.RELEASED:
            result.conflict = True
            return _noted(result, "conflicts with the release")
        if captured <= 0:  # "succeeded" without the amount: ask Stripe rather than guess
            result.conflict = dep.state in (*UNPAID, S.HELD)
            return _noted(result, "capture without an amount")
        if dep.state in UNPAID:  # the capture arrived before the hold: the hold happened first
            _change(dep, S.HELD, None, summary=f"Deposit held on the card ({source}).", held=dep.amount)
            _commit_line(dep, release_if_late=False)
        if dep.state is S.HELD:
            captured = min(captured, dep.held_amount)
            forfeit = dep.outcome is OUT.FORFEIT
            parts: dict[str, Any] = {
                "forfeited" if forfeit else "applied": captured,
                "released": dep.held_amount - captured,
            }
            result.changed = _change(
                dep,
                S.FORFEITED if forfeit else S.CAPTURED,
                None,
                summary=f"{captured} {cur} {'captured as forfeit' if forfeit else 'captured and applied'}"
                + (f", {dep.held_amount - captured} {cur} released" if captured < dep.held_amount else "")
                + f" ({source}).",
                **parts,
            )
        if refunded > dep.refunded_amount and dep.state in (S.CAPTURED, S.FORFEITED, S.REFUNDED):
            more = refunded - dep.refunded_amount
            from_applied = min(more, dep.applied_amount)
            from_forfeited = min(more - from_applied, dep.forfeited_amount)  # never more than was charged
            result.changed = (
                _change(
                    dep,
                    S.REFUNDED,
                    None,
                    summary=f"{from_applied + from_forfeited} {cur} refunded ({source}).",
                    refunded=dep.refunded_amount + from_applied + from_forfeited,
                    applied=dep.applied_amount - from_applied,
                    forfeited=dep.forfeited_amount - from_forfeited,
                )
                or result.changed
            )
    elif status == "requires_payment_method" and payment.failure and dep.state in UNPAID:
        result.changed = _change(
            dep, S.FAILED, None, summary=f"The card was declined: {payment.failure}", failure=payment.failure
        )
    return _noted(result, "")


def _noted(result: Applied, note: str) -> Applied:
    result.note = note or ("changed the ledger" if result.changed else "nothing to change")
    return result

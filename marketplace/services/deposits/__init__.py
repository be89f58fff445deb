"""Deposits: held when a fleet commits demand, then applied, released, refunded or forfeited by the round's outcome.

One ledger row per demand line (models.deposit). Its state changes only through `ledger._change`,
which checks the transition table, writes the audit entry in the same transaction and does
nothing when the deposit is already there (so every path is idempotent).

Who moves money, and how exactly once:
- `open_deposits` (called by demand.commit_lines) writes a pending deposit, commits, then asks
  the gateway for a hold (a PaymentIntent with manual capture) with an idempotency key made of
  the deposit's `reference` (not its id, which another installation on the same Stripe account
  also has). The line is committed when the hold is confirmed (`apply_payment`).
- Outcome rules (`settle_round`, `settle_line`, `line_withdrawn`) first record the decision on
  the deposit (`outcome`, committed), then ask the gateway with an idempotency key, then apply
  what the gateway answers. A re-run finds the decision and asks the same question; a final
  deposit is left alone.
- Webhooks (`receive_event` + `process_event`) are recorded by event id (a replay is dropped) and
  applied through `apply_payment`, which moves the ledger only forward along the transition
  table with amounts that only grow: arrival order never decides. An event that contradicts the
  ledger (a capture after a release) changes nothing and asks Stripe for the truth (`refresh`).

Nothing here enqueues a job: this package records domain events (services.events) and the
handlers (marketplace.handlers) run the jobs after the commit: `settle_round` when a round is
awarded, closes or is cancelled (RoundMoved) or a coordinator asks (SettlementAsked),
`settle_line` when a fleet confirms or declines an allocation (AllocationDecided), `execute`
for each decided outcome (DepositDecided), `process_event` for each recorded webhook.

One module per concern, their public names re-exported here so callers say `deposits.settle_round`:
- `ledger`: the transition table, `_change` and `_decide`;
- `payments`: the gateway's answer applied to the ledger (`apply_payment`);
- `holds`: the gateway calls (hold, confirm, refresh, execute an outcome, refund);
- `outcomes`: the outcome rules and settling a round or a line;
- `webhooks`: Stripe's events, recorded once and applied;
- `queries`: deposits read for pages, the API and totals.
"""

from marketplace.services.deposits.holds import confirm_deposit, execute, open_deposits, refresh, refund_deposit
from marketplace.services.deposits.ledger import TRANSITIONS, UNPAID, deposit_amount, payments_on
from marketplace.services.deposits.ledger import _change as _change  # the ledger's tests drive it directly
from marketplace.services.deposits.outcomes import (
    Settlement,
    ask_settlement,
    line_withdrawn,
    rounds_to_sweep,
    settle_line,
    settle_round,
)
from marketplace.services.deposits.payments import Applied, apply_payment
from marketplace.services.deposits.queries import (
    DEPOSIT_FILTERS,
    DEPOSIT_SORTS,
    Totals,
    deposits_of_org,
    deposits_of_round,
    org_deposits_query,
    own_deposits_query,
    round_deposits_query,
    totals,
    totals_of_query,
)
from marketplace.services.deposits.webhooks import process_event, receive_event

__all__ = [
    "DEPOSIT_FILTERS",
    "DEPOSIT_SORTS",
    "TRANSITIONS",
    "UNPAID",
    "Applied",
    "Settlement",
    "Totals",
    "apply_payment",
    "ask_settlement",
    "confirm_deposit",
    "deposit_amount",
    "deposits_of_org",
    "deposits_of_round",
    "execute",
    "line_withdrawn",
    "open_deposits",
    "org_deposits_query",
    "own_deposits_query",
    "payments_on",
    "process_event",
    "receive_event",
    "refresh",
    "refund_deposit",
    "round_deposits_query",
    "rounds_to_sweep",
    "settle_line",
    "settle_round",
    "totals",
    "totals_of_query",
]

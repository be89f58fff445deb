"""Backup winners: kept with each award scenario, promoted in contracting when a winner drops out.

The solver computes, for each lot and winning supplier, the best re-award of the lines that
supplier served there, all other award rows fixed (docs/solver-io.md, `backups`). `save` keeps
them as rows of the scenario. Once the award is published, when an OEM withdraws or the
coordinator declares it in default, the coordinator promotes that winner's backup in one move
(`promote`): the winner's live allocations in the lot are taken back (withdrawn), the backup's
allocations are added to the published award as offers, and each backup supplier accepts or
refuses its part (`answer`). Accepted, they are pending allocations the fleets confirm or decline
through the usual decision rule; refused, the lines stay without that supplier.

Deposits follow the new outcome (services.deposits._outcome_rule): a line waits while an offer is
open; a line left with nothing live is released in full (refunded if it was charged), as is a line
whose fleet declines the replacement, because changing supplier was not the fleet's choice.

Each backup was computed with every other award row in place, so one lot takes one promotion, a
supplier that dropped out is nobody's backup, and a backup supplier's round capacity is checked
against everything it holds when promoted.
"""

from __future__ import annotations

from marketplace.services.backups.offers import (
    Offer,
    affected_fleets,
    answer,
    lapse_offers,
    offer_for,
    offered_suppliers,
    offers_of,
)
from marketplace.services.backups.overview import (
    OVERVIEW_FILTERS,
    OVERVIEW_SORTS,
    SHOW,
    BackupView,
    Overview,
    overview,
    overview_query,
    views_of,
)
from marketplace.services.backups.promotion import Promotion, promote, promotion
from marketplace.services.backups.rules import PROMOTION_PHASES
from marketplace.services.backups.stored import save

__all__ = [
    "OVERVIEW_FILTERS",
    "OVERVIEW_SORTS",
    "PROMOTION_PHASES",
    "SHOW",
    "BackupView",
    "Offer",
    "Overview",
    "Promotion",
    "affected_fleets",
    "answer",
    "lapse_offers",
    "offer_for",
    "offered_suppliers",
    "offers_of",
    "overview",
    "overview_query",
    "promote",
    "promotion",
    "save",
    "views_of",
]

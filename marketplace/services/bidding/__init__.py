"""Sealed bids on the published lots, package bids over several lots, and an OEM's capacity for a round.

Sealed means: every query of bids, packages and capacities here filters by the acting OEM's
organization; nothing an OEM can reach says whether another OEM bid, not even how many did.
Coordinators read them all through `bids_for_award`, and only once bids have closed.

One module per concern, their public names re-exported here so callers say `bidding.submit_bid`:
- `reads`: the OEM's own bids, packages and the published lots (sealed reads);
- `rules`: a bid's and a package's fields checked against the lot (pure: no session);
- `writes`: the round locked and open for bids, races turned into a Conflict message;
- `capacity`: the OEM's capacity for the round, stated, changed and compared with its bids;
- `commands`: submitting and withdrawing bids and packages (a new revision each time);
- `award_bids`: the coordinator's read of every bid that counts, once bids have closed.
"""

from marketplace.services.bidding.award_bids import (
    AwardBid,
    AwardBids,
    AwardPackage,
    AwardPackageItem,
    AwardTier,
    bids_for_award,
)
from marketplace.services.bidding.capacity import capacity_of, capacity_warnings, set_capacity
from marketplace.services.bidding.commands import (
    save_bid,
    save_package,
    submit_bid,
    submit_package,
    withdraw_bid,
    withdraw_package,
)
from marketplace.services.bidding.reads import (
    AWARD_PHASES,
    TENDER_LOT_FILTERS,
    TENDER_LOT_SORTS,
    TENDER_PHASES,
    YOUR_BID_CHOICES,
    bid_history,
    bid_models,
    bids_of,
    current_bids_of,
    lot_in,
    lots_of,
    lots_query,
    package_history,
    packages_of,
    tender_lot_filters,
    tender_round,
)
from marketplace.services.bidding.rules import (
    MAX_TIERS,
    CheckedBid,
    CheckedItem,
    CheckedPackage,
    check_bid,
    check_package,
    item_key,
    tier_count,
    tier_warnings,
)
from marketplace.services.bidding.writes import commit_or_conflict, guarded, open_for_bids

__all__ = [
    "AWARD_PHASES",
    "MAX_TIERS",
    "TENDER_LOT_FILTERS",
    "TENDER_LOT_SORTS",
    "TENDER_PHASES",
    "YOUR_BID_CHOICES",
    "AwardBid",
    "AwardBids",
    "AwardPackage",
    "AwardPackageItem",
    "AwardTier",
    "CheckedBid",
    "CheckedItem",
    "CheckedPackage",
    "bid_history",
    "bid_models",
    "bids_for_award",
    "bids_of",
    "capacity_of",
    "capacity_warnings",
    "check_bid",
    "check_package",
    "commit_or_conflict",
    "current_bids_of",
    "guarded",
    "item_key",
    "lot_in",
    "lots_of",
    "lots_query",
    "open_for_bids",
    "package_history",
    "packages_of",
    "save_bid",
    "save_package",
    "set_capacity",
    "submit_bid",
    "submit_package",
    "tender_lot_filters",
    "tender_round",
    "tier_count",
    "tier_warnings",
    "withdraw_bid",
    "withdraw_package",
]

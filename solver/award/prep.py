"""Exact pre-processing: which (tier, line) and (package item, line) pairs can exist at all.

Nothing here changes the set of feasible awards; it only removes what no feasible award
can use, so the model and the greedy never see it:
- a pair (tier or package item, line) exists only when the unit price is within the line's
  maximum, the supplier is not excluded from the line and (with delivery quarters) some
  quarter is inside the line's window, the source's quarters and the supplier's listed
  quarters (reserve prices, exclusions and windows never become constraints); with whole line
  service, also only when the line is no larger than what the tier can carry (its range's upper
  end) or than the package item (a larger line can never go whole to it: counting it made the
  10,000-bid rounds' vehicle bounds 73-87 vehicles too high);
- a tier's quantity range is the intersection of its price band, the bid's range, the
  supplier's capacity, the lot's share cap and what its eligible lines can take (with whole
  line service: the subset sums of their quantities); an empty range drops the tier;
- a package whose items cannot all be covered (or that exceeds capacity or a share cap)
  drops out.
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.award.instance import Instance


@dataclass(frozen=True)
class TierOpt:
    bid: int
    tier: int
    lo: int
    hi: int
    cents: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class ItemOpt:
    package: int
    item: int
    lot: int
    quantity: int
    cents: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class PackageOpt:
    package: int
    supplier: int
    items: tuple[ItemOpt, ...]

    @property
    def quantity(self) -> int:
        return sum(it.quantity for it in self.items)


@dataclass
class Prepared:
    tiers: list[TierOpt]  # in (bid, tier) order
    tiers_of_bid: dict[int, list[TierOpt]]
    packages: list[PackageOpt]


# Widest bitset of reachable quantities computed (bits); wider ranges (lots of more than a
# million vehicles) keep their plain bounds, which is exact too, only less tight.
MAX_SUBSET_BITS = 1 << 21


def subset_sums(quantities: list[int], limit: int) -> int:
    """Bitset of the sums (<= limit) of subsets of `quantities` (bit s set = sum s reachable)."""
    if limit > MAX_SUBSET_BITS:
        raise OverflowError(limit)
    mask = (1 << (limit + 1)) - 1
    reach = 1
    for q in quantities:
        reach = (reach | (reach << q)) & mask
    return reach


def eligible(
    inst: Instance, lot: int, supplier: int, cents: int, quarters: frozenset[int] | None = None
) -> tuple[int, ...]:
    """Lines of the lot a source (of `supplier`, at `cents`, delivering in `quarters`) may serve;
    with delivery quarters, only those it can deliver to in some quarter of their window."""
    return tuple(
        li
        for li in inst.lots[lot].lines
        if cents <= inst.lines[li].max_cents
        and supplier not in inst.lines[li].excluded
        and (not inst.with_quarters or inst.quarters_for(li, supplier, quarters))
    )


def prepare(inst: Instance) -> Prepared:
    tiers: list[TierOpt] = []
    by_bid: dict[int, list[TierOpt]] = {}
    for bi, bid in enumerate(inst.bids):
        lot = inst.lots[bid.lot]
        for k, tier in enumerate(bid.tiers):
            lo, hi = bid.band(k)
            hi = min(hi, inst.capacity[bid.supplier], lot.share_cap)
            lines = eligible(inst, bid.lot, bid.supplier, tier.cents, bid.quarters)
            if inst.whole:  # a line goes whole to one source: one larger than the tier can carry never fits
                lines = tuple(li for li in lines if inst.lines[li].quantity <= hi)
            hi = min(hi, sum(inst.lines[li].quantity for li in lines))
            if lo > hi:
                continue
            if inst.whole and hi <= MAX_SUBSET_BITS:
                reach = subset_sums([inst.lines[li].quantity for li in lines], hi) >> lo
                if not reach:
                    continue
                base = lo
                lo = base + (reach & -reach).bit_length() - 1  # smallest reachable sum >= lo
                hi = base + reach.bit_length() - 1  # largest reachable sum <= hi
            opt = TierOpt(bi, k, lo, hi, tier.cents, lines)
            tiers.append(opt)
            by_bid.setdefault(bi, []).append(opt)

    packages: list[PackageOpt] = []
    for pi, pkg in enumerate(inst.packages):
        if sum(it.quantity for it in pkg.items) > inst.capacity[pkg.supplier]:
            continue
        items = []
        for ii, item in enumerate(pkg.items):
            if item.quantity > inst.lots[item.lot].share_cap:
                break
            lines = eligible(inst, item.lot, pkg.supplier, item.cents, pkg.quarters)
            if inst.whole:  # as for tiers: a line larger than the item never fits in it
                lines = tuple(li for li in lines if inst.lines[li].quantity <= item.quantity)
            qs = [inst.lines[li].quantity for li in lines]
            if inst.whole and item.quantity <= MAX_SUBSET_BITS:
                if not (subset_sums(qs, item.quantity) >> item.quantity) & 1:
                    break
            elif sum(qs) < item.quantity:
                break
            items.append(ItemOpt(pi, ii, item.lot, item.quantity, item.cents, lines))
        else:
            packages.append(PackageOpt(pi, pkg.supplier, tuple(items)))
    return Prepared(tiers, by_bid, packages)

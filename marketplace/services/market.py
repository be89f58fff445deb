"""The coordinator's view of the market: who takes part while bids are sealed, every bid once they close.

During tendering the coordinator sees counts only (OEMs that stated a capacity, lots with at least
one live bid): no price, no name, so nothing of the sealed bids leaks even to the coalition's own
staff before the deadline. Once bids close (`bidding.AWARD_PHASES`) the bid matrix shows, per lot
and OEM, the bid that counts (its tiers), the package items on the lot, and per lot how much of
it the offers cover and how the lowest price compares with the lot's reserve. Lots are named by
the code the screens show ("lot-19", never the solver's "lot-46") and OEMs by their names.

A lot's reserve is what its member lines said they would pay at most: the lowest and the highest
of their maximum unit prices (the award checks each line against its own maximum; a price at or
below the lowest suits every member).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidRevision,
    BidTier,
    DemandLine,
    Lot,
    LotMember,
    Organization,
    PackageBid,
    PackageItem,
    PackageRevision,
    Round,
    RoundCapacity,
    RoundPhase,
)
from marketplace.services import access, bidding, rounds, spreadsheet
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict

# Phases in which the coordinator's market view exists: once lots are published.
MARKET_PHASES = (RoundPhase.TENDERING, *bidding.AWARD_PHASES)

LOT_SORTS = {"lot": [Lot.id], "vehicles": [Lot.quantity, Lot.id], "segment": [Lot.segment_id, Lot.id]}


def market_round(round_id: int, actor: Actor | None) -> Round:
    """The round, for its market view (coordinators, once its lots are published)."""
    access.require_coordinator(actor)
    rnd = rounds.load_round(round_id)
    if rnd.phase not in MARKET_PHASES or rnd.published_pooling_run_id is None:
        raise Conflict(f"The market view opens when the lots are published; this round is “{rnd.phase.label}”.")
    return rnd


def bids_open(rnd: Round) -> bool:
    """Whether the bids are unsealed for the coordinator (bids closed or later)."""
    return rnd.phase in bidding.AWARD_PHASES


# ---------------------------------------------------------------- during tendering: counts only


@dataclass(frozen=True)
class Participation:
    lots: int
    lots_with_bids: int
    oems_with_capacity: int

    @property
    def lots_without_bids(self) -> int:
        return self.lots - self.lots_with_bids


def _live_bids(rnd: Round) -> sa.Select:
    """(bid, revision that counts) pairs of the round's published lots, withdrawals left out."""
    latest = (
        sa.select(BidRevision.bid_id, sa.func.max(BidRevision.number).label("number"))
        .join(Bid, Bid.id == BidRevision.bid_id)
        .where(Bid.round_id == rnd.id)
        .group_by(BidRevision.bid_id)
        .subquery()
    )
    return (
        sa.select(Bid, BidRevision)
        .join(latest, latest.c.bid_id == Bid.id)
        .join(BidRevision, sa.and_(BidRevision.bid_id == Bid.id, BidRevision.number == latest.c.number))
        .join(Lot, Lot.id == Bid.lot_id)
        .where(
            Bid.round_id == rnd.id,
            Lot.pooling_run_id == rnd.published_pooling_run_id,
            BidRevision.withdrawn.is_(False),
        )
    )


def participation(rnd: Round) -> Participation:
    """How many OEMs take part and how many lots have a live bid: counts, never who or at what price."""
    live = _live_bids(rnd).with_only_columns(Bid.lot_id).distinct().subquery()
    lots, with_bids, oems = db.session.execute(
        sa.select(
            sa.select(sa.func.count(Lot.id))
            .where(Lot.pooling_run_id == rnd.published_pooling_run_id)
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(live).scalar_subquery(),
            sa.select(sa.func.count(RoundCapacity.id)).where(RoundCapacity.round_id == rnd.id).scalar_subquery(),
        )
    ).one()
    return Participation(int(lots), int(with_bids), int(oems))


# ---------------------------------------------------------------- after bids close: the bid matrix


@dataclass(frozen=True)
class Tier:
    min_quantity: int
    unit_price: Decimal


@dataclass
class Offer:
    """What one OEM offers on one lot: its bid that counts and its package items on the lot."""

    model: str = ""
    min_quantity: int = 0
    max_quantity: int = 0
    tiers: list[Tier] = field(default_factory=list)
    packages: list[tuple[str, int, Decimal, str]] = field(default_factory=list)  # (package, vehicles, price, model)

    @property
    def lowest_price(self) -> Decimal | None:
        prices = [t.unit_price for t in self.tiers] + [p[2] for p in self.packages]
        return min(prices) if prices else None

    @property
    def vehicles(self) -> int:
        """The most vehicles offered on the lot (the bid's maximum, or the largest package item)."""
        return max([self.max_quantity] + [p[1] for p in self.packages])


@dataclass
class LotMarket:
    lot: Lot
    reserve_low: Decimal | None
    reserve_high: Decimal | None
    offers: dict[int, Offer]  # organization id -> offer

    @property
    def bidders(self) -> int:
        return len(self.offers)

    @property
    def offered(self) -> int:
        return sum(o.vehicles for o in self.offers.values())

    @property
    def coverage_percent(self) -> float:
        """Vehicles offered over the lot's vehicles, at most 100 %."""
        return min(100.0, 100.0 * self.offered / self.lot.quantity) if self.lot.quantity else 0.0

    @property
    def lowest_price(self) -> Decimal | None:
        prices = [p for p in (o.lowest_price for o in self.offers.values()) if p is not None]
        return min(prices) if prices else None

    def percent_of_reserve(self, price: Decimal | None) -> float | None:
        """A price as a percentage of the lot's lowest reserve (100 % = the lowest member maximum)."""
        if price is None or not self.reserve_low:
            return None
        return float(price / self.reserve_low * 100)


@dataclass
class BidMatrix:
    bidders: list[tuple[int, str]]  # (organization id, name), by name
    lots: list[LotMarket]


def require_unsealed(rnd: Round) -> None:
    if not bids_open(rnd):
        raise Conflict(f"Bids are sealed until bids close: this round is in phase “{rnd.phase.label}”.")


def bidders_of(rnd: Round) -> list[tuple[int, str]]:
    """Every OEM with a live bid or package in the round, by name."""
    require_unsealed(rnd)
    bid_orgs = _live_bids(rnd).with_only_columns(Bid.organization_id)
    latest = _latest_packages(rnd)
    package_orgs = (
        sa.select(PackageBid.organization_id)
        .join(latest, latest.c.package_id == PackageBid.id)
        .join(
            PackageRevision,
            sa.and_(PackageRevision.package_id == PackageBid.id, PackageRevision.number == latest.c.number),
        )
        .where(PackageRevision.withdrawn.is_(False))
    )
    ids = sa.union(bid_orgs, package_orgs).subquery()
    rows = db.session.execute(
        sa.select(Organization.id, Organization.name)
        .where(Organization.id.in_(sa.select(ids.c[0])))
        .order_by(Organization.name)
    ).all()
    return [(org_id, name) for org_id, name in rows]


def _latest_packages(rnd: Round):
    return (
        sa.select(PackageRevision.package_id, sa.func.max(PackageRevision.number).label("number"))
        .join(PackageBid, PackageBid.id == PackageRevision.package_id)
        .where(PackageBid.round_id == rnd.id)
        .group_by(PackageRevision.package_id)
        .subquery()
    )


def lots_query(rnd: Round) -> sa.Select:
    """The published lots, to page through (segment and region loaded with them)."""
    return (
        sa.select(Lot)
        .where(Lot.pooling_run_id == rnd.published_pooling_run_id, Lot.round_id == rnd.id)
        .options(joinedload(Lot.segment), joinedload(Lot.region))
    )


def lot_markets(rnd: Round, lots: Sequence[Lot]) -> list[LotMarket]:
    """The offers on these lots and their reserves, in a fixed number of statements whatever their number."""
    require_unsealed(rnd)
    lot_ids = [lot.id for lot in lots]
    markets = {lot.id: LotMarket(lot, None, None, {}) for lot in lots}
    if not lot_ids:
        return []
    for lot_id, low, high in db.session.execute(
        sa.select(LotMember.lot_id, sa.func.min(DemandLine.max_unit_price), sa.func.max(DemandLine.max_unit_price))
        .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
        .where(LotMember.lot_id.in_(lot_ids))
        .group_by(LotMember.lot_id)
    ):
        markets[lot_id].reserve_low, markets[lot_id].reserve_high = Decimal(low), Decimal(high)
    rows = db.session.execute(
        _live_bids(rnd)
        .where(Bid.lot_id.in_(lot_ids))
        .options(selectinload(BidRevision.tiers), joinedload(BidRevision.vehicle_model))
        .order_by(Bid.id)
    ).all()
    for bid, revision in rows:
        offer = markets[bid.lot_id].offers.setdefault(bid.organization_id, Offer())
        offer.model = revision.vehicle_model.name
        offer.min_quantity, offer.max_quantity = revision.min_quantity, revision.max_quantity
        offer.tiers = [Tier(t.min_quantity, Decimal(t.unit_price)) for t in sorted(revision.tiers, key=_by_min)]
    latest = _latest_packages(rnd)
    items = db.session.execute(
        sa.select(PackageItem, PackageBid.name, PackageBid.organization_id)
        .join(PackageRevision, PackageRevision.id == PackageItem.revision_id)
        .join(
            latest,
            sa.and_(latest.c.package_id == PackageRevision.package_id, latest.c.number == PackageRevision.number),
        )
        .join(PackageBid, PackageBid.id == PackageRevision.package_id)
        .where(PackageRevision.withdrawn.is_(False), PackageItem.lot_id.in_(lot_ids))
        .options(joinedload(PackageItem.vehicle_model))
        .order_by(PackageBid.id, PackageItem.lot_id)
    ).all()
    for item, name, org_id in items:
        offer = markets[item.lot_id].offers.setdefault(org_id, Offer())
        offer.packages.append((name or "Package", item.quantity, Decimal(item.unit_price), item.vehicle_model.name))
    return [markets[lot.id] for lot in lots]


def _by_min(tier) -> int:
    return tier.min_quantity


def bid_matrix(rnd: Round) -> BidMatrix:
    """The whole matrix (every lot), for the download."""
    lots = list(db.session.execute(lots_query(rnd).order_by(Lot.id)).scalars())
    return BidMatrix(bidders_of(rnd), lot_markets(rnd, lots))


# ---------------------------------------------------------------- downloads

BID_HEADER = ["Lot", "Segment", "Region", "Delivery window", "Lot vehicles", "Reserve (lowest)", "Reserve (highest)",
              "OEM", "Offer", "Model", "Minimum vehicles", "Maximum vehicles", "Tier from vehicles", "Unit price",
              "Currency", "% of lowest reserve"]  # fmt: skip


def _percent(value: float | None) -> float | str:
    return round(value, 1) if value is not None else ""


def bid_rows(rnd: Round, matrix: BidMatrix) -> Iterator[list]:
    """One row per tier of a bid, and one per package item: the bids export, line by line."""
    names = dict(matrix.bidders)
    for market in matrix.lots:
        lot = market.lot
        head = [lot.code, lot.segment.short_name, lot.region.name, lot.window, lot.quantity,
                market.reserve_low, market.reserve_high]  # fmt: skip
        for org_id in sorted(market.offers, key=lambda o: names.get(o, "")):
            offer = market.offers[org_id]
            for tier in offer.tiers:
                yield [*head, names.get(org_id, ""), "Bid", offer.model, offer.min_quantity, offer.max_quantity,
                       tier.min_quantity, tier.unit_price, rnd.currency,
                       _percent(market.percent_of_reserve(tier.unit_price))]  # fmt: skip
            for package, vehicles, price, model in offer.packages:
                yield [*head, names.get(org_id, ""), f"Package “{package}”", model, vehicles, vehicles, vehicles,
                       price, rnd.currency, _percent(market.percent_of_reserve(price))]  # fmt: skip


def bids_csv(rnd: Round) -> str:
    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\n")
    writer.writerow(BID_HEADER)
    writer.writerows(bid_rows(rnd, bid_matrix(rnd)))
    return out.getvalue()


def bids_xlsx(rnd: Round) -> bytes:
    """The bid matrix (lowest unit price per lot and OEM), every bid tier and package item, and the coverage."""
    matrix = bid_matrix(rnd)
    names = [name for _, name in matrix.bidders]
    matrix_rows = [
        [m.lot.code, m.lot.segment.short_name, m.lot.region.name, m.lot.quantity, m.reserve_low]
        + [m.offers[org_id].lowest_price if org_id in m.offers else None for org_id, _ in matrix.bidders]
        for m in matrix.lots
    ]
    coverage_rows = [
        [m.lot.code, m.lot.segment.short_name, m.lot.region.name, m.lot.quantity, m.bidders, m.offered,
         round(m.coverage_percent, 1), m.lowest_price, m.reserve_low, _percent(m.percent_of_reserve(m.lowest_price))]
        for m in matrix.lots
    ]  # fmt: skip
    sheets = [
        ("Matrix", ["Lot", "Segment", "Region", "Lot vehicles", "Reserve (lowest)", *names], matrix_rows),
        ("Bids", BID_HEADER, list(bid_rows(rnd, matrix))),
        ("Coverage", ["Lot", "Segment", "Region", "Lot vehicles", "OEMs bidding", "Vehicles offered", "Coverage %",
                      "Lowest unit price", "Reserve (lowest)", "Lowest price, % of reserve"], coverage_rows),
    ]  # fmt: skip
    return workbook(sheets, note=f"Round “{rnd.name}”, prices in {rnd.currency}; the matrix shows each OEM's "
                    "lowest unit price on the lot (bid tier or package item).")  # fmt: skip


def workbook(sheets: Iterable[tuple[str, list[str], list[list]]], note: str = "") -> bytes:
    """An XLSX of simple tables: bold header, frozen first row, money with two decimals, strings never formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for n, (title, header, rows) in enumerate(sheets):
        sheet = book.active if n == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        spreadsheet.append_row(sheet, header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            spreadsheet.append_row(sheet, row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
        for i, name in enumerate(header, start=1):
            width = max([len(str(name))] + [len(str(r[i - 1] if r[i - 1] is not None else "")) for r in rows[:500]])
            sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = min(width + 2, 50)
        sheet.freeze_panes = "A2"
    if note:
        first = book.worksheets[0]
        first.append([])
        spreadsheet.append_row(first, [note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def lowest_offers(rnd: Round) -> dict[tuple[int, int], Decimal]:
    """(lot id, organization id) -> the lowest unit price of that OEM's live offers on the lot (bid tiers
    and package items), over the round. For the award feedback only: never shown to another OEM."""
    require_unsealed(rnd)
    offers: dict[tuple[int, int], Decimal] = {}
    bid_rows = db.session.execute(
        _live_bids(rnd)
        .with_only_columns(Bid.lot_id, Bid.organization_id, sa.func.min(BidTier.unit_price))
        .join(BidTier, BidTier.revision_id == BidRevision.id)
        .group_by(Bid.lot_id, Bid.organization_id)
    ).all()
    latest = _latest_packages(rnd)
    package_rows = db.session.execute(
        sa.select(PackageItem.lot_id, PackageBid.organization_id, sa.func.min(PackageItem.unit_price))
        .join(PackageRevision, PackageRevision.id == PackageItem.revision_id)
        .join(
            latest,
            sa.and_(latest.c.package_id == PackageRevision.package_id, latest.c.number == PackageRevision.number),
        )
        .join(PackageBid, PackageBid.id == PackageRevision.package_id)
        .join(Lot, Lot.id == PackageItem.lot_id)
        .where(PackageRevision.withdrawn.is_(False), Lot.pooling_run_id == rnd.published_pooling_run_id)
        .group_by(PackageItem.lot_id, PackageBid.organization_id)
    ).all()
    for lot_id, org_id, price in [*bid_rows, *package_rows]:
        key = (lot_id, org_id)
        offers[key] = min(offers.get(key, Decimal(price)), Decimal(price))
    return offers

"""A round as open data: an OCDS 1.1 release package with the lots extension.

One compiled release per round, ocid "ocds-fecmkt-round-<id>", tagged by how far the round got
(planning, then tender once lots are published, award once an award is published, contract
once a fleet confirms). Planning comes from committed demand, the tender from the published
lots (one item per lot), awards from the published scenario (one per supplier and lot, with
its items per vehicle model and price), contracts from confirmed allocations (one per fleet
per award; a declined allocation makes no contract). An award stays "active" while any of its
allocations is confirmed or undecided, and becomes "cancelled" once every one was declined.

What is withheld, and why:

- Fleets never appear before the award: the tender describes the coalition's lots (segment,
  region, window, requirements, total quantity), never demand lines.
- Fleets' maximum unit prices are their reservation prices. Published during demand or
  tendering they would tell OEMs where to price (for a lot of one fleet, lot value divided by
  quantity *is* that fleet's maximum price), so the planning budget amount and the lots'
  values appear only once the award is published. Before that the budget says how many
  vehicles are committed, without an amount.
- Bids are sealed: no OEM is named before the award is published. Then every OEM whose bid
  or package counted in the award is a "tenderer", and each OEM that won is a "supplier".
- After the award a fleet is named (role "buyer": its own budget pays for its vehicles) only
  once it confirms an allocation, because it is then a party to a contract. An allocation
  still pending or declined is the fleet's private decision, so it stays out of the parties.

The coalition (the organization of the coordinator who created the round) is the buyer of
record and the procuring entity: it runs the procurement on behalf of its member fleets,
the usual OCDS reading of joint procurement with a lead buyer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    AuditEntry,
    AwardScenario,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Lot,
    LotMember,
    Organization,
    OrganizationKind,
    PoolingRun,
    Region,
    Round,
    RoundPhase,
)
from marketplace.services import bidding, contracting, deliveries, pooling

OCID_PREFIX = "ocds-fecmkt"
# The lots extension, the version whose schema tests/data/ocds holds.
LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
)

P = RoundPhase
TENDER_STATUS = {
    P.DRAFT: "planning",
    P.DEMAND_OPEN: "planned",
    P.DEMAND_CLOSED: "planned",
    P.POOLED: "planned",
    P.TENDERING: "active",
    P.BIDS_CLOSED: "active",
    P.AWARDED: "complete",
    P.CONTRACTING: "complete",
    P.CLOSED: "complete",
    P.CANCELLED: "cancelled",
}


def ocid(rnd: Round) -> str:
    return f"{OCID_PREFIX}-round-{rnd.id}"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _amount(value: Decimal) -> int | float:
    """A JSON number for an exact decimal amount: amounts to the cent below 10^13 survive a float unchanged."""
    value = Decimal(value).quantize(Decimal("0.01"))
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    assert Decimal(repr(number)) == value, f"{value} does not survive as a JSON number"
    return number


def _value(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": _amount(amount), "currency": currency}


def _party_id(org: Organization) -> str:
    return f"org-{org.id}"


def _ref(org: Organization) -> dict[str, str]:
    return {"id": _party_id(org), "name": org.name}


def coalition_of(rnd: Round) -> Organization:
    """The coordinator organization that created the round (the first coordinator organization if unknown)."""
    org_id = db.session.execute(
        sa.select(AuditEntry.organization_id)
        .where(AuditEntry.round_id == rnd.id, AuditEntry.action == "round.create")
        .order_by(AuditEntry.id)
    ).scalar()
    org = db.session.get(Organization, org_id) if org_id else None
    if org is None:
        org = db.session.execute(
            sa.select(Organization).where(Organization.kind == OrganizationKind.COORDINATOR).order_by(Organization.id)
        ).scalar()
    assert org is not None, "a round needs a coordinator organization"
    return org


def release_date(rnd: Round) -> datetime:
    """When the round last changed: everything that changes a round writes an audit entry."""
    last = db.session.execute(sa.select(sa.func.max(AuditEntry.at)).where(AuditEntry.round_id == rnd.id)).scalar()
    return max(d for d in (last, rnd.phase_changed_at, rnd.created_at) if d is not None)


def bids_closed_at(rnd: Round) -> datetime | None:
    """When bidding actually ended: the move out of tendering (by hand, or the bid deadline passing)."""
    from marketplace.services import rounds

    return rounds.ended_at(rnd, P.TENDERING)


class _Parties:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.countries = {
            r.id: r.name for r in db.session.execute(sa.select(Region).where(Region.level == "country")).scalars()
        }

    def add(self, org: Organization, role: str) -> dict[str, str]:
        party = self.by_id.setdefault(
            _party_id(org),
            {
                "id": _party_id(org),
                "name": org.name,
                "address": {"countryName": self.countries.get(org.country, org.country)},
                "roles": [],
            },
        )
        if role not in party["roles"]:
            party["roles"].append(role)
        return _ref(org)

    def all(self) -> list[dict[str, Any]]:
        return sorted(self.by_id.values(), key=lambda p: int(p["id"].split("-")[1]))


def _lot_title(lot: Lot) -> str:
    return f"{lot.quantity} × {lot.segment.short_name}, {lot.region.name}, {lot.window}"


def _lot_description(lot: Lot) -> str:
    needs = []
    if lot.min_range_km:
        needs.append(f"range at least {lot.min_range_km} km")
    if lot.min_payload_kg:
        needs.append(f"payload at least {lot.min_payload_kg} kg")
    needs.append(f"charging {lot.charging}")
    return (
        f"{lot.quantity} {lot.segment.name} vehicles delivered in {lot.region.name} between {lot.earliest_quarter} "
        f"and {lot.latest_quarter}, pooled from {lot.fleet_count} fleet(s); " + ", ".join(needs) + "."
    )


def release_package(rnd: Round, *, uri: str | None = None) -> dict[str, Any]:
    """The round's OCDS 1.1 release package (a dict ready for JSON): see the module docstring for what it withholds."""
    currency = rnd.currency
    coalition = coalition_of(rnd)
    parties = _Parties()
    buyer = parties.add(coalition, "buyer")
    parties.add(coalition, "procuringEntity")
    date = release_date(rnd)
    scenario = db.session.get(AwardScenario, rnd.published_scenario_id) if rnd.published_scenario_id else None
    award_published = scenario is not None

    committed = list(
        db.session.execute(
            sa.select(DemandLine).where(DemandLine.round_id == rnd.id, DemandLine.status == DemandStatus.COMMITTED)
        ).scalars()
    )
    committed_vehicles = sum(line.quantity for line in committed)
    budget: dict[str, Any] = {
        "id": f"round-{rnd.id}-committed-demand",
        "description": f"Committed demand: {committed_vehicles} vehicles on {len(committed)} demand lines, valued at "
        "the fleets' maximum unit prices"
        + ("." if award_published else " (the amount is published with the award, so that it cannot guide bids)."),
    }
    if award_published:
        budget["amount"] = _value(
            sum((line.quantity * line.max_unit_price for line in committed), Decimal(0)), currency
        )
    planning: dict[str, Any] = {"budget": budget}
    if rnd.description:
        planning["rationale"] = rnd.description

    tender: dict[str, Any] = {
        "id": f"round-{rnd.id}",
        "title": rnd.name,
        "description": "Zero-emission trucks and buses: demand pooled from the coalition's member fleets into lots; "
        "sealed bids per lot or as packages; awarded to the most vehicles, then the lowest total price.",
        "status": TENDER_STATUS[rnd.phase],
        "procuringEntity": buyer,
        "procurementMethod": "open",
        "procurementMethodDetails": "Open to every OEM registered on the marketplace; bids are sealed until the bid deadline.",
        "mainProcurementCategory": "goods",
        "awardCriteria": "priceOnly",
        "awardCriteriaDetails": "Within the round's rules (winners per lot, share per supplier), the award serves the "
        "most vehicles, then at the lowest total price.",
        "submissionMethod": ["electronicSubmission"],
    }
    # Planned dates from the deadlines until the phases happen; then when they happened.
    closed_at = bids_closed_at(rnd) or rnd.bid_deadline
    if closed_at:
        tender["tenderPeriod"] = {"endDate": _iso(closed_at)}
        tender["awardPeriod"] = {"startDate": _iso(closed_at)}

    tags = ["planning"]
    lots = pooling.published_lots(rnd, with_places=True)
    awards: list[dict[str, Any]] = []
    contracts: list[dict[str, Any]] = []
    if lots:
        tags.append("tender")
        run = db.session.get(PoolingRun, rnd.published_pooling_run_id)
        if run is not None and run.published_at:
            tender.setdefault("tenderPeriod", {})["startDate"] = _iso(run.published_at)
        allocations: list[Allocation] = []
        if scenario is not None:
            allocations = list(
                db.session.execute(
                    sa.select(Allocation)
                    .where(Allocation.scenario_id == scenario.id)
                    .options(*contracting.ALLOCATION_ROW)
                    .order_by(Allocation.lot_id, Allocation.organization_id, Allocation.id)
                ).scalars()
            )
        awarded_lots = {a.lot_id for a in allocations}
        lot_values: dict[int, Decimal] = defaultdict(Decimal)
        if award_published:
            for member, max_price in db.session.execute(
                sa.select(LotMember, DemandLine.max_unit_price)
                .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
                .where(LotMember.lot_id.in_([lot.id for lot in lots]))
            ).all():
                lot_values[member.lot_id] += member.quantity * max_price
        tender["lots"] = []
        tender["items"] = []
        for lot in lots:
            if rnd.phase is P.CANCELLED:
                status = "cancelled"
            elif not award_published:
                status = "active"
            else:
                status = "complete" if lot.id in awarded_lots else "unsuccessful"
            entry: dict[str, Any] = {
                "id": lot.code,
                "title": _lot_title(lot),
                "description": _lot_description(lot),
                "status": status,
            }
            if award_published:
                entry["value"] = _value(lot_values[lot.id], currency)
            tender["lots"].append(entry)
            tender["items"].append(
                {
                    "id": lot.code,
                    "description": _lot_description(lot),
                    "quantity": lot.quantity,
                    "unit": {"name": "vehicle"},
                    "relatedLot": lot.code,
                }
            )
        if rnd.phase is P.CANCELLED:
            tags.append("tenderCancellation")
        if scenario is not None:
            tags.append("award")
            tender.setdefault("awardPeriod", {})["endDate"] = _iso(scenario.published_at)
            awards, contracts = _awards_and_contracts(rnd, scenario, allocations, parties)
            offers = bidding.bids_for_award(rnd)
            tenderer_ids = {b.organization_id for b in offers.bids} | {p.organization_id for p in offers.packages}
            tenderers = db.session.execute(
                sa.select(Organization).where(Organization.id.in_(tenderer_ids)).order_by(Organization.id)
            ).scalars()
            tender["tenderers"] = [parties.add(org, "tenderer") for org in tenderers if org is not None]
            tender["numberOfTenderers"] = len(tender["tenderers"])
            if contracts:
                tags.append("contract")

    release: dict[str, Any] = {
        "ocid": ocid(rnd),
        "id": f"{ocid(rnd)}-{date:%Y%m%dT%H%M%SZ}",
        "date": _iso(date),
        "tag": tags,
        "initiationType": "tender",
        "language": "en",
        "parties": parties.all(),
        "buyer": buyer,
        "planning": planning,
        "tender": tender,
    }
    if awards:
        release["awards"] = awards
    if contracts:
        release["contracts"] = contracts
    return {
        "uri": uri or f"urn:{OCID_PREFIX}:round:{rnd.id}:release-package",
        "version": "1.1",
        "extensions": [LOTS_EXTENSION],
        "publishedDate": _iso(date),
        "publisher": {"name": coalition.name},
        "releases": [release],
    }


def _items(award_id: str, lot: Lot, allocations: list[Allocation], currency: str) -> list[dict[str, Any]]:
    """One item per vehicle model and unit price."""
    grouped: dict[tuple[int, Decimal], int] = defaultdict(int)
    for a in allocations:
        grouped[(a.vehicle_model_id, a.unit_price)] += a.quantity
    models = {a.vehicle_model_id: a.vehicle_model for a in allocations}
    items = []
    for n, ((model_id, price), quantity) in enumerate(sorted(grouped.items()), start=1):
        model = models[model_id]
        items.append(
            {
                "id": f"{award_id}-item-{n}",
                "description": f"{model.manufacturer} {model.name} ({model.powertrain}, {lot.segment.short_name})",
                "quantity": quantity,
                "unit": {"name": "vehicle", "value": _value(price, currency)},
                "relatedLot": lot.code,
            }
        )
    return items


def _awards_and_contracts(
    rnd: Round, scenario: AwardScenario, allocations: list[Allocation], parties: _Parties
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One award per supplier and lot; one contract per fleet within an award, from its confirmed allocations."""
    currency = rnd.currency
    by_award: dict[tuple[int, int], list[Allocation]] = defaultdict(list)
    for a in allocations:
        by_award[(a.lot_id, a.organization_id)].append(a)
    awards, contracts = [], []
    amendments = _backup_amendments(scenario)
    for (lot_id, supplier_id), group in sorted(by_award.items(), key=lambda kv: (kv[1][0].lot.code, kv[0][1])):
        lot = group[0].lot
        supplier = group[0].supplier
        award_id = f"{lot.code}-supplier-{supplier_id}"
        vehicles = sum(a.quantity for a in group)
        # Withdrawn (the supplier dropped out), refused (a backup said no) and declined allocations are not live.
        live = [a for a in group if a.confirmation.live and a.confirmation is not ConfirmationStatus.DECLINED]
        if not live:
            status = "cancelled"
        elif all(a.confirmation is ConfirmationStatus.OFFERED for a in live):
            status = "pending"  # a promoted backup waiting for its supplier to accept
        else:
            status = "active"
        entry: dict[str, Any] = deliveries.ocds_period("contractPeriod", group) | {
            "id": award_id,
            "title": f"{lot.code}: {vehicles} vehicles from {supplier.name}",
            "status": status,
            "date": _iso(scenario.published_at),
            "value": _value(sum((a.quantity * a.unit_price for a in group), Decimal(0)), currency),
            "suppliers": [parties.add(supplier, "supplier")],
            "items": _items(award_id, lot, group, currency),
            "relatedLots": [lot.code],
        }
        if amendments.get((lot_id, supplier_id)):
            entry["amendments"] = amendments[(lot_id, supplier_id)]
        awards.append(entry)
        by_fleet: dict[int, list[Allocation]] = defaultdict(list)
        for a in group:
            if a.confirmation is ConfirmationStatus.CONFIRMED:
                by_fleet[a.demand_line.organization_id].append(a)
        for fleet_id, confirmed in sorted(by_fleet.items()):
            fleet = confirmed[0].demand_line.organization
            parties.add(fleet, "buyer")
            signed = max((a.decided_at for a in confirmed if a.decided_at), default=None)
            contract: dict[str, Any] = deliveries.ocds_period("period", confirmed) | {
                "id": f"{award_id}-fleet-{fleet_id}",
                "awardID": award_id,
                "title": f"{fleet.name}: {sum(a.quantity for a in confirmed)} vehicles from {supplier.name} ({lot.code})",
                "status": "active",
                "value": _value(sum((a.quantity * a.unit_price for a in confirmed), Decimal(0)), currency),
                "items": _items(f"{award_id}-fleet-{fleet_id}", lot, confirmed, currency),
            }
            if signed:
                contract["dateSigned"] = _iso(signed)
            contracts.append(contract)
    return awards, contracts


def _backup_amendments(scenario: AwardScenario) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Each promoted backup amends the award of the supplier that dropped out and those of its replacements."""
    from sqlalchemy.orm import joinedload, selectinload

    from marketplace.models import Backup

    promoted = db.session.execute(
        sa.select(Backup)
        .where(Backup.scenario_id == scenario.id, Backup.promoted_at.is_not(None))
        .options(joinedload(Backup.lot), joinedload(Backup.withdrawn), selectinload(Backup.rows))
        .order_by(Backup.promoted_at, Backup.id)
    ).scalars()
    found: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for backup in promoted:
        replacements = sorted({r.organization_id for r in backup.rows})
        offered = sum(r.quantity for r in backup.rows)
        cause = backup.cause.label if backup.cause else "dropped out"
        amendment = {
            "id": f"{backup.lot.code}-backup-{backup.public_id}",
            "date": _iso(backup.promoted_at),
            "rationale": f"{backup.withdrawn.name} {cause}: {backup.reason}",
            "description": (
                f"The award of {backup.withdrawn.name} on {backup.lot.code} is cancelled; its backup "
                + (f"supplies {offered} vehicles instead, once accepted." if offered else "could not replace it.")
            ),
        }
        for supplier_id in (backup.withdrawn_id, *replacements):
            found[(backup.lot_id, supplier_id)].append(amendment)
    return found


def dumps(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False, indent=2) + "\n"


def package_text(rnd: Round, *, uri: str) -> str:
    """The release package as JSON text, stored once computed (services/read_models.py) per address it is read at."""
    import hashlib

    from marketplace.services import read_models

    name = "ocds " + hashlib.sha256(uri.encode()).hexdigest()[:20]
    return read_models.cached(rnd, name, lambda: dumps(release_package(rnd, uri=uri)), str, str)

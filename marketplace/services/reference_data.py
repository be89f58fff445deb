"""Loading the reference data files (segments, regions, vehicle models) into the database.

The files are the coalition's shared data (copied in marketplace/data). Loading upserts
by id, so a newer file is loaded the same way and nothing already saved is lost.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Organization, OrganizationKind, Region, Segment, VehicleModel

# Canonical charging standards, in the order pages list them, with their display names.
CHARGING_STANDARDS: dict[str, str] = {
    "CCS1": "CCS1 (Combo 1)",
    "CCS2": "CCS2 (Combo 2)",
    "NACS": "NACS (SAE J3400)",
    "MCS": "MCS (Megawatt)",
    "GB/T": "GB/T",
    "CHAdeMO": "CHAdeMO",
    "J1772": "SAE J1772 AC",
    "Type2": "Type 2 AC",
    "J3105": "SAE J3105 pantograph",
    "Megacharger": "Tesla Megacharger",
    "H2": "Hydrogen (H2)",
}
_PATTERNS = [
    ("CCS1", r"CCS1"),
    ("CCS2", r"CCS2"),
    ("NACS", r"NACS|J3400"),
    ("MCS", r"\bMCS\b"),
    ("GB/T", r"GB/T"),
    ("CHAdeMO", r"CHAdeMO"),
    ("J1772", r"J1772|J3068"),
    ("Type2", r"Type 2"),
    ("J3105", r"J3105|pantograph|OppCharge"),
    ("Megacharger", r"Megacharger"),
    ("H2", r"\bH2\b"),
]


def normalise_charging(text: str) -> list[str]:
    """The canonical standards named in a free-text charging note ("CCS1 / SAE J1772" -> [CCS1, J1772])."""
    return [code for code, pattern in _PATTERNS if re.search(pattern, text or "", flags=re.IGNORECASE)]


def _int(value: str) -> int | None:
    try:
        return int(float(value)) if value.strip() else None
    except ValueError:
        return None


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value.strip() else None
    except InvalidOperation:
        return None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def oem_name(manufacturer: str) -> str:
    """The organization that sells a model: the brand before any parenthesised group name."""
    return manufacturer.split(" (")[0].strip()


def load_segments(path: Path) -> int:
    for row in _rows(path):
        seg = db.session.get(Segment, row["segment_id"]) or Segment(id=row["segment_id"])
        seg.name = row["name"]
        seg.vehicle_group = row["vehicle_group"]
        seg.beachhead_wave = _int(row["beachhead_wave"]) or 0
        seg.charging_standards = normalise_charging(row["charging_standards"])
        seg.typical_range_km_min = _int(row["typical_range_km_min"])
        seg.typical_range_km_max = _int(row["typical_range_km_max"])
        seg.capacity_unit = row["capacity_unit"]
        seg.duty_cycle = row["duty_cycle"][:500]
        db.session.add(seg)
    return len(_rows(path))


def load_regions(path: Path) -> int:
    rows = _rows(path)
    # Parents first, so every foreign key points at a row that exists.
    order = {level: i for i, level in enumerate(Region.LEVELS)}
    for row in sorted(rows, key=lambda r: order.get(r["level"], 9)):
        region = db.session.get(Region, row["region_id"]) or Region(id=row["region_id"])
        region.level = row["level"]
        region.name = row["name"]
        region.parent_id = row["parent_id"] or None
        region.code = row["code"]
        region.code_system = row["code_system"]
        region.dtz_key_region = row["dtz_key_region"]
        db.session.add(region)
        db.session.flush()
    return len(rows)


def load_models(path: Path) -> int:
    rows = _rows(path)
    for row in rows:
        name = oem_name(row["manufacturer"])
        org = db.session.execute(sa.select(Organization).where(Organization.name == name)).scalar_one_or_none()
        markets = [m.strip() for m in row["markets"].split(";") if m.strip()]
        if org is None:
            org = Organization(name=name, kind=OrganizationKind.OEM, country=(markets or ["US"])[0])
            db.session.add(org)
            db.session.flush()
        model = db.session.execute(
            sa.select(VehicleModel).where(VehicleModel.code == row["model_id"])
        ).scalar_one_or_none() or VehicleModel(code=row["model_id"])
        model.organization_id = org.id
        model.manufacturer = row["manufacturer"]
        model.name = row["model"]
        model.segment_id = row["segment_id"]
        model.powertrain = row["powertrain"]
        model.markets = markets
        model.battery_kwh = _int(row["battery_kwh_max"]) or _int(row["battery_kwh_min"])
        model.range_km = _int(row["range_km_max"])
        model.capacity = _int(row["capacity"])
        model.capacity_unit = row["capacity_unit"]
        model.payload_kg = model.capacity if row["capacity_unit"].startswith("kg payload") else None
        model.charging = normalise_charging(row["charging"])
        model.charging_note = row["charging"][:200]
        # A per-km gross-cost price is no vehicle price: leave the list price empty.
        model.list_price = _decimal(row["price_max"] or row["price_min"]) if row["price_unit"] == "vehicle" else None
        model.currency = row["currency"] or "USD"
        model.price_status = row["price_status"] or "estimated"
        model.source_url = row["source_url"][:500]
        db.session.add(model)
    return len(rows)


def load_reference_data(data_dir: Path) -> dict[str, int]:
    """Upsert segments, regions and vehicle models from a data folder; one transaction."""
    counts = {
        "segments": load_segments(data_dir / "segments.csv"),
        "regions": load_regions(data_dir / "regions.csv"),
    }
    db.session.flush()
    counts["models"] = load_models(data_dir / "models.csv")
    db.session.commit()
    return counts


# ---------------------------------------------------------------- reading (forms' choices, labels)


def segments() -> list[Segment]:
    """Every segment, beachhead wave first."""
    return list(db.session.execute(sa.select(Segment).order_by(Segment.beachhead_wave, Segment.name)).scalars())


def regions() -> list[Region]:
    """Every region, by id."""
    return list(db.session.execute(sa.select(Region).order_by(Region.id)).scalars())


def region_names() -> dict[str, str]:
    """Region id -> name."""
    return {region_id: name for region_id, name in db.session.execute(sa.select(Region.id, Region.name))}

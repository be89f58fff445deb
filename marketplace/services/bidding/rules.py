"""The rules of a bid and a package, checked on the submitted fields (no session, no writes).

A bid: a model of the OEM's catalog that meets the lot, a quantity range within the lot, and
all-units tiers starting at the minimum quantity with strictly increasing minimums. A package:
items on at least two lots, all or nothing. Problems come back by field key.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marketplace.models import BidRevision, Lot, Round, VehicleModel
from marketplace.services.catalog import shortfalls
from marketplace.services.quarter_lists import read_quarters
from marketplace.services.values import NAME_MAX, NumberFormat, amount, into, text, text_field, whole

MAX_TIERS = 10


@dataclass
class CheckedBid:
    vehicle_model: VehicleModel
    min_quantity: int
    max_quantity: int
    tiers: list[tuple[int, Decimal]]
    quarters: list[str] | None = None  # None: any quarter
    quarters_given: bool = True  # False: the values had no quarters (a bid sheet without the column): keep them

    def same_as(self, revision: BidRevision | None) -> bool:
        """Whether a revision already says exactly this (an unchanged sheet row makes no new revision)."""
        return (
            revision is not None
            and not revision.withdrawn
            and revision.vehicle_model_id == self.vehicle_model.id
            and revision.min_quantity == self.min_quantity
            and revision.max_quantity == self.max_quantity
            and [(t.min_quantity, Decimal(t.unit_price)) for t in revision.tiers] == self.tiers
            and (not self.quarters_given or (revision.quarters or None) == self.quarters)
        )


def _model(
    code: str, lot: Lot, models: Mapping[str, VehicleModel], errors: dict[str, str], name: str
) -> VehicleModel | None:
    if not code:
        errors[name] = "choose a model from your catalog"
        return None
    model = models.get(code)
    if model is None:
        errors[name] = f"“{code}” is not a model of your catalog that can be offered (unknown or retired)"
        return None
    problems = shortfalls(model, lot)
    if problems:
        errors[name] = f"{model.name} does not meet lot {lot.code}: " + "; ".join(problems)
        return None
    return model


def tier_count(values: Mapping[str, Any]) -> int:
    """How many tier pairs the values hold (the highest N of tierN_min / tierN_price given)."""
    n = 0
    for key in values:
        if key.startswith("tier") and (key.endswith("_min") or key.endswith("_price")):
            number = key[4:].split("_")[0]
            if number.isdigit():
                n = max(n, int(number))
    return n


def check_bid(
    values: Mapping[str, Any],
    lot: Lot,
    rnd: Round,
    models: Mapping[str, VehicleModel],
    fmt: NumberFormat = NumberFormat.POINT,
) -> tuple[CheckedBid | None, dict[str, str]]:
    """Check a bid's fields against the lot: model, quantity range and all-units tiers.

    Keys: model_code, min_quantity, max_quantity, tier1_min, tier1_price, tier2_min, ... (the bid
    sheet's columns). A tier with both cells blank is no tier. Problems come back by key.
    """
    errors: dict[str, str] = {}
    model = _model(text(values.get("model_code")), lot, models, errors, "model_code")
    min_q = whole(
        values.get("min_quantity"), errors, "min_quantity", minimum=1, maximum=lot.quantity,
        message="must be a whole number of vehicles, at least 1", fmt=fmt,
    )  # fmt: skip
    if "min_quantity" in errors and errors["min_quantity"].startswith("must be at most"):
        errors["min_quantity"] = f"must be at most the lot's {lot.quantity} vehicles"
    max_q = whole(
        values.get("max_quantity"), errors, "max_quantity", minimum=1, maximum=lot.quantity,
        message="must be a whole number of vehicles, at least 1", fmt=fmt,
    )  # fmt: skip
    if "max_quantity" in errors and errors["max_quantity"].startswith("must be at most"):
        errors["max_quantity"] = f"must be at most the lot's {lot.quantity} vehicles"
    if min_q is not None and max_q is not None and max_q < min_q:
        errors["max_quantity"] = f"must be at least the minimum quantity ({min_q})"

    tiers: list[tuple[int, Decimal]] = []
    count = tier_count(values)
    if count > MAX_TIERS:
        errors[f"tier{count}_min"] = f"at most {MAX_TIERS} tiers"
        count = MAX_TIERS
    previous: int | None = None
    gap = False
    for n in range(1, count + 1):
        min_key, price_key = f"tier{n}_min", f"tier{n}_price"
        raw_min, raw_price = values.get(min_key), values.get(price_key)
        if text(raw_min) == "" and text(raw_price) == "":
            gap = True
            continue
        if gap:
            errors[min_key] = f"tier {n} follows an empty tier: fill the tiers in order, without gaps"
            break
        tier_min = whole(
            raw_min, errors, min_key, minimum=1, maximum=lot.quantity,
            message="must be the whole number of vehicles from which this tier's price applies", fmt=fmt,
        )  # fmt: skip
        price = amount(raw_price, errors, price_key, currency=rnd.currency, fmt=fmt)
        if tier_min is not None:
            if n == 1 and min_q is not None and tier_min != min_q:
                errors[min_key] = f"the first tier must start at the bid's minimum quantity ({min_q})"
            elif previous is not None and tier_min <= previous:
                errors[min_key] = f"must be above tier {n - 1}'s {previous}: tier minimums strictly increase"
            elif max_q is not None and tier_min > max_q:
                errors[min_key] = f"must be at most the bid's maximum quantity ({max_q})"
            previous = tier_min
        if tier_min is not None and price is not None:
            tiers.append((tier_min, price))
    if not tiers and not any(k.startswith("tier") for k in errors):
        errors["tier1_min"] = "give at least one tier: the unit price from the minimum quantity"

    quarters = into(errors, "quarters", read_quarters, values.get("quarters"))
    if errors or model is None or min_q is None or max_q is None:
        return None, errors
    return CheckedBid(
        vehicle_model=model, min_quantity=min_q, max_quantity=max_q, tiers=tiers,
        quarters=quarters, quarters_given="quarters" in values,
    ), {}  # fmt: skip


@dataclass
class CheckedItem:
    lot: Lot
    vehicle_model: VehicleModel
    quantity: int
    unit_price: Decimal


@dataclass
class CheckedPackage:
    name: str
    items: list[CheckedItem] = field(default_factory=list)
    quarters: list[str] | None = None  # None: any quarter


def item_key(lot: Lot, name: str) -> str:
    return f"lot{lot.id}_{name}"


def check_package(
    values: Mapping[str, Any],
    rnd: Round,
    lots: list[Lot],
    models: Mapping[str, VehicleModel],
    fmt: NumberFormat = NumberFormat.POINT,
) -> tuple[CheckedPackage | None, dict[str, str]]:
    """Check a package: a name and, per lot it covers, lot{ID}_model_code, lot{ID}_quantity, lot{ID}_unit_price.

    A lot whose three fields are blank is not in the package; a package covers at least 2 lots.
    """
    errors: dict[str, str] = {}
    name = text_field(values.get("name"), errors, "name", max_length=NAME_MAX)
    quarters = into(errors, "quarters", read_quarters, values.get("quarters"))
    items: list[CheckedItem] = []
    chosen = 0
    for lot in lots:
        keys = {k: item_key(lot, k) for k in ("model_code", "quantity", "unit_price")}
        raw = {k: values.get(key) for k, key in keys.items()}
        if all(text(v) == "" for v in raw.values()):
            continue
        chosen += 1
        model = _model(text(raw["model_code"]), lot, models, errors, keys["model_code"])
        quantity = whole(
            raw["quantity"], errors, keys["quantity"], minimum=1, maximum=lot.quantity,
            message="must be a whole number of vehicles, at least 1", fmt=fmt,
        )  # fmt: skip
        if keys["quantity"] in errors and errors[keys["quantity"]].startswith("must be at most"):
            errors[keys["quantity"]] = f"must be at most the lot's {lot.quantity} vehicles"
        price = amount(raw["unit_price"], errors, keys["unit_price"], currency=rnd.currency, fmt=fmt)
        if model is not None and quantity is not None and price is not None:
            items.append(CheckedItem(lot=lot, vehicle_model=model, quantity=quantity, unit_price=price))
    if chosen < 2:
        errors["items"] = "a package covers at least 2 lots: fill model, quantity and unit price for each of them"
    if errors:
        return None, errors
    return CheckedPackage(name=name, items=items, quarters=quarters), {}


def tier_warnings(revision: BidRevision) -> list[str]:
    """All-units tiers whose price rises with the quantity: allowed, but usually a typo."""
    tiers = list(revision.tiers)
    return [
        f"Tier {n + 1} (from {b.min_quantity} vehicles) costs more per vehicle than tier {n}"
        f" ({b.unit_price:,.2f} > {a.unit_price:,.2f}): volume tiers usually go down. Check the prices."
        for n, (a, b) in enumerate(itertools.pairwise(tiers), start=1)
        if b.unit_price > a.unit_price
    ]

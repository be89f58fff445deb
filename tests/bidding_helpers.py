"""Objects the access test needs on the OEM side: a published tender with a model, bid and package of each OEM."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from marketplace.services import bidding
from tests.factories import World, make_bid, make_model, make_tender


def package_values(lots, model, items=((10, "228000"), (25, "219999.99")), name="West + Texas") -> dict[str, Any]:
    """Form values of a package over `lots`, one item each, offering `model`."""
    out: dict[str, Any] = {"name": name}
    for lot, (q, p) in zip(lots, items, strict=False):
        out |= {f"lot{lot.id}_model_code": model.code, f"lot{lot.id}_quantity": q, f"lot{lot.id}_unit_price": p}
    return out


def access_objects(world: World) -> dict[str, int | str]:
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    ids: dict[str, int | str] = {"round": rnd.id, "lot": lots[0].id}
    for key, user in (("", world.oem), ("other_", world.other_oem)):
        model = make_model(user.organization)
        bid = make_bid(user, lots[0], model)
        package = bidding.submit_package(rnd.id, package_values(lots, model), user)
        ids |= {f"{key}model": model.id, f"{key}bid": bid.bid.public_id, f"{key}package": package.package.public_id}
    return ids


def bid_book(
    bids: list[list],
    packages: list[list] | None = None,
    *,
    capacity: list[list] | None = None,
    formula: tuple[str, int, int, str] | None = None,
) -> bytes:
    """A bid sheet workbook as an OEM uploads it: the Bids sheet's rows and, when given, the Packages and
    "Capacity by quarter" sheets' (None: no such sheet, as in an older sheet); `formula` (sheet, row, column,
    text) types a formula into that cell."""
    wb = Workbook()
    wb.active.title = "Bids"
    for title, rows in (("Bids", bids), ("Packages", packages), ("Capacity by quarter", capacity)):
        if rows is not None:
            ws = wb[title] if title in wb.sheetnames else wb.create_sheet(title)
            for row in rows:
                ws.append(row)
    if formula:
        title, row, column, text = formula
        wb[title].cell(row, column).value = text
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

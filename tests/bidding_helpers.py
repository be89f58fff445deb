"""Objects the access test needs on the OEM side: a published tender with a model, bid and package of each OEM."""

from __future__ import annotations

from typing import Any

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

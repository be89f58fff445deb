"""Shared bits of the API tests: tokens of a user and the headers that carry them."""

from __future__ import annotations

from typing import Any

from marketplace.services import api_tokens


def token_for(user: Any, scope: str = "write") -> str:
    return api_tokens.create_token(user, name=f"{scope} token", scope=scope).secret


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def api_line(**overrides: Any) -> dict[str, Any]:
    """A valid demand line as an organization's system sends it (typed JSON values)."""
    line: dict[str, Any] = {
        "segment": "md_box_truck",
        "region": "us-ca-los-angeles",
        "quantity": 10,
        "earliest_quarter": "2027Q2",
        "latest_quarter": "2027Q4",
        "min_range_km": 200,
        "charging": ["CCS1"],
        "max_unit_price": "250000.50",
        "splittable": False,
    }
    line.update(overrides)
    return line

"""Delivery quarters in the award (contract section 2, "Delivery quarters"): windows, the quarters a
source can deliver in, suppliers' quarterly capacities, and the deliveries of each allocation."""

from __future__ import annotations

from solver import schema


def quarter_doc() -> dict:
    return {
        "rules": {"prefer_early_delivery": True, "backups": False},
        "suppliers": [
            {
                "id": "oem-2",
                "capacity": 120,
                "quarterly_capacity": [
                    {"quarter": "2027Q1", "capacity": 40},
                    {"quarter": "2027Q1", "segment": "refuse-truck", "capacity": 10},
                    {"quarter": "2027Q2", "capacity": 80},
                ],
            }
        ],
        "lots": [
            {
                "id": "lot-1",
                "segment": "refuse-truck",
                "demand": [
                    {
                        "id": "d-001",
                        "quantity": 12,
                        "max_unit_price": 260000,
                        "window": {"first": "2027Q1", "last": "2027Q4"},
                    }
                ],
            }
        ],
        "bids": [
            {
                "id": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "min_quantity": 10,
                "max_quantity": 100,
                "tiers": [{"min_quantity": 10, "unit_price": 250000}],
                "quarters": ["2027Q1", "2027Q2"],
            }
        ],
        "packages": [],
    }


def test_the_input_schema_takes_the_quarter_fields_and_names_a_bad_quarter() -> None:
    assert schema.check(quarter_doc(), "award-input") == []
    bad = quarter_doc()
    bad["lots"][0]["demand"][0]["window"]["last"] = "2027Q5"
    bad["bids"][0]["quarters"] = []
    bad["suppliers"][0]["quarterly_capacity"][0]["quarter"] = "Q1-2027"
    assert {(p.path, p.message) for p in schema.check(bad, "award-input")} == {
        ("lots[0].demand[0].window.last", "must be a quarter like 2027Q2"),
        ("bids[0].quarters", "must be a non-empty list of quarters like 2027Q2"),
        ("suppliers[0].quarterly_capacity[0].quarter", "must be a quarter like 2027Q2"),
    }


def test_the_output_schema_takes_deliveries_and_backups() -> None:
    alloc = {"demand": "d-001", "quantity": 12, "deliveries": [{"quarter": "2027Q2", "quantity": 12}]}
    out = {
        "status": "OPTIMAL",
        "awarded_quantity": 12,
        "total_price": 3000000,
        "awards": [
            {
                "source": "bid-1",
                "supplier": "oem-2",
                "lot": "lot-1",
                "quantity": 12,
                "unit_price": 250000,
                "allocations": [alloc],
            }
        ],
        "unserved": [],
        "backups": [
            {
                "lot": "lot-1",
                "withdrawn": "oem-2",
                "quantity": 12,
                "covered_quantity": 0,
                "replacement": [],
                "total_price": 0,
            }
        ],
        "stats": {"solve_seconds": 0.0, "bound_quantity": 12, "bound_price": 3000000},
    }
    assert schema.check(out, "award-output") == []
    out["awards"][0]["allocations"][0]["deliveries"] = [{"quarter": "2027Q2", "quantity": 0}]
    assert [p.path for p in schema.check(out, "award-output")] == ["awards[0].allocations[0].deliveries[0].quantity"]

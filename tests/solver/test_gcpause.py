"""The solver pauses Python's garbage collector only while it reads and pre-processes a
document: a caller (the marketplace's worker) must get its collector back as it was,
even when the document is refused."""

from __future__ import annotations

import gc

import pytest

from solver import io
from solver.errors import InvalidInput
from solver.pooling import pool


def _doc() -> dict:
    return {
        "rules": {"min_lot_quantity": 2, "max_lot_quantity": 10, "max_levels_up": 0},
        "regions": [{"code": "US"}],
        "demand": [
            {
                "id": f"d{i}",
                "segment": "bus",
                "region": "US",
                "quantity": 1,
                "window": {"earliest": "2027Q1", "latest": "2027Q2"},
                "requirements": {"charging": ["CCS1"]},
            }
            for i in range(3)
        ],
    }


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pooling_gives_the_collector_back(collector_on):
    result = pool(_doc(), work_limit=1)
    assert result["stats"]["pooled_quantity"] == 3
    assert gc.isenabled()


def test_a_refused_document_gives_the_collector_back(collector_on):
    doc = _doc()
    doc["demand"][0]["quantity"] = 0
    with pytest.raises(InvalidInput):
        pool(doc)
    assert gc.isenabled()
    with pytest.raises(io.NotJson):
        io.loads("{")
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    was = gc.isenabled()
    gc.disable()
    try:
        pool(_doc(), work_limit=1)
        io.loads('{"a": 1}')
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()

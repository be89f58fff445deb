"""Issue 20's pages at coalition scale stay readable: a fleet's delivery schedule names its main suppliers
of each quarter (the others one click away), a long ramp is summed up on the tender page in words, and the
closed capacity by quarter page shows what was stated, without empty rows to fill in."""

from __future__ import annotations

import re

from marketplace.models import RoundPhase
from marketplace.services import bidding, quarter_capacity, rounds
from marketplace.services.deliveries import ScheduleQuarter
from tests.factories import make_bid, make_model, make_tender


def test_a_quarter_of_the_schedule_names_its_main_suppliers_first_and_counts_the_others():
    quarter = ScheduleQuarter("2027Q3")
    for supplier, vehicles, confirmed in [("Zeta", 5, True), ("Alpha", 2, False), ("Beta", 40, False),
                                          ("Gamma", 5, False), ("Alpha", 4, True), ("Delta", 1, False)]:  # fmt: skip
        quarter.add(supplier, vehicles, confirmed)
    assert (quarter.vehicles, quarter.confirmed) == (57, 9)
    assert quarter.main_suppliers == [("Beta", 40), ("Alpha", 6), ("Gamma", 5)]  # most vehicles first, then name
    assert quarter.other_suppliers == [("Zeta", 5), ("Delta", 1)]
    assert quarter.other_vehicles == 6


def _ramp(world, entries):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    bidding.set_capacity(rnd.id, 500, world.oem)
    typed = {}
    for n, (quarter, segment, capacity) in enumerate(entries, start=1):
        typed |= {f"row{n}_quarter": quarter, f"row{n}_segment": segment, f"row{n}_capacity": capacity}
    if entries:
        quarter_capacity.set_rows(rnd.id, typed, world.oem)
    return rnd


def _summary(html: str) -> str:
    part = html.split('data-testid="quarter-capacity-summary">')[1].split("</div>")[0]
    return " ".join(re.sub(r"<[^>]+>", "", part).split())


def test_the_tender_page_names_segments_in_words_and_sums_up_a_long_ramp(world, login):
    short = _ramp(world, [("2027Q2", "", "30"), ("2027Q3", "md_box_truck", "25")])
    client = login(world.oem)
    assert _summary(client.get(f"/oem/rounds/{short.id}").get_data(as_text=True)).startswith(
        "By quarter: 2027Q2: 30, 2027Q3 (Medium-duty box truck): 25."
    )  # fmt: skip
    long = _ramp(world, [(q, "", "125") for q in ("2027Q2", "2027Q3", "2027Q4", "2028Q1")]
                 + [(q, "md_box_truck", "20") for q in ("2027Q2", "2027Q3")])  # fmt: skip
    assert _summary(client.get(f"/oem/rounds/{long.id}").get_data(as_text=True)).startswith(
        "By quarter: 6 rows from 2027Q2 to 2028Q1 (500 vehicles over all segments in 4 quarters)."
    )


def test_once_bids_close_the_capacity_by_quarter_page_shows_only_what_was_stated(world, login):
    stated = _ramp(world, [("2027Q2", "", "30"), ("2027Q3", "md_box_truck", "25")])
    none = _ramp(world, [])
    client = login(world.oem)
    url = "/oem/rounds/{}/capacity/quarters"
    open_page = client.get(url.format(stated.id)).get_data(as_text=True)
    assert len(re.findall(r'name="row\d+_quarter"', open_page)) == 6  # while open: four empty rows to fill in
    for rnd in (stated, none):
        rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    closed_page = client.get(url.format(stated.id)).get_data(as_text=True)
    assert len(re.findall(r'name="row\d+_quarter"', closed_page)) == 2
    assert "what is shown is what the award reads" in closed_page
    empty = client.get(url.format(none.id)).get_data(as_text=True)
    assert 'name="row1_quarter"' not in empty
    assert "you stated no capacity by quarter, so the award could deliver in any quarter" in empty


def test_the_tender_page_pages_sorts_and_filters_its_lots_in_sql(world, login):
    """Hundreds of lots at coalition scale: the OEM's tender page shows a page of them, like every list that
    grows with the data, and finds one by its code, segment or region."""
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    client = login(world.oem)
    url = f"/oem/rounds/{rnd.id}"

    def shown(query: str) -> list[str]:
        return re.findall(r'<tr data-lot="([^"]+)">', client.get(url + query).get_data(as_text=True))

    assert shown("") == ["lot-1", "lot-2"]
    assert shown("?per_page=1&page=2") == ["lot-2"]
    assert shown("?sort=vehicles") == ["lot-2", "lot-1"]  # 25 before 40
    assert shown("?region=Texas") == ["lot-2"]
    page = client.get(url + "?lot=nothing-like-it").get_data(as_text=True)
    assert shown("?lot=nothing-like-it") == [] and "No lot matches these filters." in page


def test_the_tender_page_finds_the_oems_own_bids_among_hundreds_of_lots(world, login):
    """At 239 lots an OEM with bids on a few pages through five pages to find them: "Your bid" filters its lots
    with a bid that counts, or none (never bid, or withdrawn); another OEM's bids do not count."""
    rnd, lots = make_tender(world.coordinator, world.fleet.organization,
                            lots=[{"region_id": "US-CA"}, {"region_id": "US-TX"}, {"region_id": "US-NY"}])  # fmt: skip
    make_bid(world.oem, lots[0], make_model(world.oem.organization))
    withdrawn = make_bid(world.oem, lots[1], make_model(world.oem.organization, code="E-2"))
    bidding.withdraw_bid(withdrawn.bid_id, world.oem)
    make_bid(world.other_oem, lots[2], make_model(world.other_oem.organization))
    client = login(world.oem)

    def shown(query: str) -> list[str]:
        page = client.get(f"/oem/rounds/{rnd.id}{query}").get_data(as_text=True)
        return re.findall(r'<tr data-lot="([^"]+)">', page)

    assert shown("?bid=bid+placed") == ["lot-1"]
    assert shown("?bid=no+bid") == ["lot-2", "lot-3"]
    assert shown("?bid=no+bid&region=Texas") == ["lot-2"]
    assert shown("?bid=everything") == ["lot-1", "lot-2", "lot-3"]  # a value not offered is ignored

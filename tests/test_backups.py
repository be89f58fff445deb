"""Backup winners (issue 20): kept with the scenario, promoted in contracting when a winner drops out.

Most tests here run the real solver and replace its `backups` by a hand-written entry (`with_backups`,
as the contract in docs/solver-io.md states it) so each checks one rule of contracting on a known backup;
the last ones read the solver's own backups.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import solver
from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    AuditEntry,
    AwardScenario,
    Backup,
    ConfirmationStatus,
    LotMember,
    Notice,
    Round,
    RoundPhase,
)
from marketplace.services import award, backups, contracting, ocds, rounds, solver_runs
from marketplace.services.errors import Conflict, NotFound
from tests.factories import make_bid, make_model, make_tender

CS = ConfirmationStatus
pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def _backups_for(doc: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The contract's backups, by hand: each winner replaced whole by another supplier's bid on the lot with
    room in its range and capacity, at its first tier (right for these tests' bids), or by nobody."""
    entries = []
    used: dict[str, int] = {}
    for row in result["awards"]:
        used[row["supplier"]] = used.get(row["supplier"], 0) + sum(p["quantity"] for p in row["allocations"])
        used[row["source"]] = used.get(row["source"], 0) + sum(p["quantity"] for p in row["allocations"])
    capacity = {s["id"]: s["capacity"] for s in doc["suppliers"]}
    for row in result["awards"]:
        quantity = sum(p["quantity"] for p in row["allocations"])
        others = [
            b
            for b in doc["bids"]
            if b["lot"] == row["lot"]
            and b["supplier"] != row["supplier"]
            and used.get(b["supplier"], 0) + quantity <= capacity[b["supplier"]]
            and used.get(b["id"], 0) + quantity <= b["max_quantity"]
        ]
        replacement = [
            {
                "source": bid["id"],
                "supplier": bid["supplier"],
                "quantity": quantity,
                "unit_price": bid["tiers"][0]["unit_price"],
                "allocations": [{"demand": p["demand"], "quantity": p["quantity"]} for p in row["allocations"]],
            }
            for bid in others[:1]
        ]
        entries.append(
            {
                "lot": row["lot"],
                "withdrawn": row["supplier"],
                "quantity": quantity,
                "covered_quantity": quantity if replacement else 0,
                "replacement": replacement,
                "total_price": sum(r["quantity"] * r["unit_price"] for r in replacement),
            }
        )
    return entries


@pytest.fixture
def with_backups(monkeypatch):
    """The award job's solver output carries backups (the validator checks the rest, as today)."""
    solve, validate = solver_runs.solve, solver.validate_award

    def solve_with_backups(kind, doc, scenario, reporter):
        result = solve(kind, doc, scenario, reporter)
        return result | {"backups": _backups_for(doc, result)} if kind == "award" else result

    monkeypatch.setattr(solver_runs, "solve", solve_with_backups)
    monkeypatch.setattr(
        solver, "validate_award", lambda doc, res: validate(doc, {k: v for k, v in res.items() if k != "backups"})
    )


@pytest.fixture
def contracting_round(world, with_backups):
    """Contracting open: OEM A won lot-1 (40 at 230,000; OEM B bid 240,000 there), OEM B won lot-2 alone."""
    rnd, (ca, tx) = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, ca, make_model(world.oem.organization), tiers=((10, "230000"),))
    b_model = make_model(world.other_oem.organization)
    make_bid(world.other_oem, ca, b_model, tiers=((10, "240000"),))
    make_bid(world.other_oem, tx, b_model, tiers=((10, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    return db.session.get(Round, rnd.id)


def _backup(rnd: Round, supplier_id: int) -> Backup:
    return db.session.execute(
        sa.select(Backup).where(Backup.scenario_id == rnd.published_scenario_id, Backup.withdrawn_id == supplier_id)
    ).scalar_one()


def _allocations(rnd: Round) -> list[tuple[str, int, int, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Allocation).where(Allocation.scenario_id == rnd.published_scenario_id).order_by(Allocation.id)
    ).scalars()
    return [(a.lot.code, a.organization_id, a.quantity, a.confirmation.value) for a in rows]


def test_the_scenario_keeps_the_solvers_backups_as_rows(world, contracting_round):
    a_backup = _backup(contracting_round, world.oem.organization_id)
    assert (a_backup.lot.code, a_backup.quantity, a_backup.covered_quantity) == ("lot-1", 40, 40)
    assert a_backup.total_price == Decimal("9600000.00")
    [row] = a_backup.rows
    assert (row.organization_id, row.quantity, row.unit_price) == (
        world.other_oem.organization_id,
        40,
        Decimal("240000.00"),
    )
    member = db.session.execute(sa.select(LotMember).where(LotMember.lot_id == a_backup.lot_id)).scalar_one()
    assert row.demand_line_id == member.demand_line_id
    nobody = _backup(contracting_round, world.other_oem.organization_id)
    assert nobody.rows == [] and nobody.covered_quantity == 0  # "nobody can replace" is kept too


def test_promoting_a_backup_takes_back_offers_and_the_fleet_reconfirms(world, contracting_round, login):
    rnd = contracting_round
    mine = {a.lot.code: a for a in contracting.fleet_results(rnd.id, world.fleet).allocations}
    contracting.decide(mine["lot-1"].id, True, world.fleet)  # confirmed before the winner failed
    backup = _backup(rnd, world.oem.organization_id)
    coordinator = login(world.coordinator)
    page = coordinator.get(f"/coordinator/rounds/{rnd.id}/backups").get_data(as_text=True)
    assert world.other_oem.organization.name in page and "Winner drops out" in page
    url = f"/coordinator/rounds/{rnd.id}/backups/{backup.public_id}/promote"
    page = coordinator.get(url).get_data(as_text=True)
    assert "40 vehicles" in page and "9,600,000" in page.replace("\u202f", ",")
    # Summed per fleet before the form (a lot at coalition scale holds a hundred lines); each line below it.
    fleets = page.split('data-testid="promotion-fleets"')[1].split("</table>")[0]
    assert (
        " ".join(re.sub(r"<[^>]+>", " ", fleets.split("<tbody>")[1]).split())
        == f"{world.fleet.organization.name} 1 40 40"
    )
    assert (
        page.index('data-testid="promotion-fleets"')
        < page.index("<form", page.index("consequences"))
        < page.index('data-testid="promotion-lines"')
    )
    # Nothing happens without a cause, a reason and the ticked box.
    assert coordinator.post(url, data={"cause": "withdrew", "reason": "Plant fire"}).status_code == 422
    assert coordinator.post(url, data={"cause": "x", "reason": "Plant fire", "confirm": "y"}).status_code == 422
    assert _allocations(rnd)[0][3] == "confirmed"
    answer = coordinator.post(url, data={"cause": "withdrew", "reason": "Plant fire", "confirm": "y"})
    assert answer.status_code == 303
    a_id, b_id = world.oem.organization_id, world.other_oem.organization_id
    assert _allocations(rnd) == [("lot-1", a_id, 40, "withdrawn"), ("lot-2", b_id, 25, "pending"),
                                 ("lot-1", b_id, 40, "offered")]  # fmt: skip
    assert coordinator.post(url, data={"cause": "withdrew", "reason": "again", "confirm": "y"}).status_code == 409
    # The fleet cannot decide before the backup supplier accepts; another OEM cannot answer for it.
    offered = db.session.execute(sa.select(Allocation).where(Allocation.backup_id == backup.id)).scalar_one()
    with pytest.raises(Conflict, match="waits for the backup supplier"):
        contracting.decide(offered.id, True, world.fleet)
    assert login(world.oem).get(f"/oem/backups/{backup.public_id}").status_code == 404
    assert login(world.oem).post(f"/oem/backups/{backup.public_id}/accept").status_code == 404
    oem = login(world.other_oem)
    assert f"/oem/backups/{backup.public_id}" in oem.get(f"/oem/rounds/{rnd.id}/results").get_data(as_text=True)
    page = oem.get(f"/oem/backups/{backup.public_id}").get_data(as_text=True)
    assert "waiting for your answer" in page and "9,600,000" in page.replace("\u202f", ",")
    assert oem.post(f"/oem/backups/{backup.public_id}/accept").status_code == 303
    assert oem.post(f"/oem/backups/{backup.public_id}/refuse").status_code == 409  # answered once
    assert _allocations(rnd)[2] == ("lot-1", b_id, 40, "pending")
    # The fleet re-confirms through the usual flow.
    fleet = login(world.fleet)
    assert fleet.post(f"/fleet/allocations/{offered.public_id}/confirm").status_code == 302
    assert _allocations(rnd)[2] == ("lot-1", b_id, 40, "confirmed")
    actions = set(db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.round_id == rnd.id)).scalars())
    assert {"allocation.withdraw", "backup.promote", "backup.accept", "allocation.confirm"} <= actions
    told = {
        (n.kind, n.user.organization_id)
        for n in db.session.execute(sa.select(Notice)).scalars()
        if "backup" in n.kind or n.kind == "supplier_withdrew"
    }
    fleet_id = world.fleet.organization_id
    assert told == {("supplier_withdrew", fleet_id), ("backup_offered", b_id), ("backup_accepted", fleet_id)}


def _href(html: str, contains: str) -> str:
    """The first link or form address on the page containing `contains`, as the browser would follow it."""
    from html import unescape

    return unescape(next(u for u in re.findall(r'(?:href|action)="([^"]+)"', html) if contains in u))


def test_after_a_promotion_the_backups_page_comes_back_as_the_coordinator_left_it(world, contracting_round, login):
    """Issue 20: the coordinator, on page 2 of a sorted and filtered list, promotes a backup (or goes back
    without changing anything) and lands on the same page, order and filters, with no other argument carried."""
    rnd = contracting_round
    coordinator = login(world.coordinator)
    listing = f"/coordinator/rounds/{rnd.id}/backups?lot=lot&sort=lot&dir=desc&per_page=1&page=2"
    html = coordinator.get(listing + "&next=https://evil.example/&x=1").get_data(as_text=True)
    assert list(_rows_of(html)) == ["lot-1"]  # lot-2 is on page 1 in this order
    promote_url = _href(html, "/promote")
    page = coordinator.get(promote_url).get_data(as_text=True)
    kept = {"lot": ["lot"], "sort": ["lot"], "dir": ["desc"], "per_page": ["1"], "page": ["2"]}
    from urllib.parse import parse_qs, urlsplit

    back = urlsplit(_href(page, f"/rounds/{rnd.id}/backups?"))
    assert (back.path, parse_qs(back.query)) == (f"/coordinator/rounds/{rnd.id}/backups", kept)
    answer = coordinator.post(
        _href(page, "/promote"), data={"cause": "withdrew", "reason": "Plant fire", "confirm": "y"}
    )
    assert answer.status_code == 303
    landed = urlsplit(answer.headers["Location"])
    assert (landed.path, parse_qs(landed.query)) == (f"/coordinator/rounds/{rnd.id}/backups", kept)
    html = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "2–2 of 2 winners" in html and "waiting for the backup supplier" in _rows_of(html)["lot-1"]


def test_a_refused_backup_leaves_the_line_unreplaced_and_a_lot_takes_one_promotion(world, contracting_round):
    rnd = contracting_round
    backup = _backup(rnd, world.oem.organization_id)
    backups.promote(rnd.id, backup.id, "default", "Missed the first delivery", world.coordinator)
    with pytest.raises(NotFound):
        backups.answer(backup.id, False, world.oem)  # not its offer
    backups.answer(backup.id, False, world.other_oem)
    a_id, b_id = world.oem.organization_id, world.other_oem.organization_id
    assert _allocations(rnd)[0] == ("lot-1", a_id, 40, "withdrawn")
    assert _allocations(rnd)[2] == ("lot-1", b_id, 40, "refused")
    _, views = backups.overview(rnd.id, world.coordinator)
    assert [v.state for v in views] == ["refused by the backup supplier", "not promoted"]
    # B is still a winner of lot-2: its own backup there is "nobody", and promoting it just takes back.
    nobody = _backup(rnd, b_id)
    done = backups.promote(rnd.id, nobody.id, "withdrew", "Left the market", world.coordinator)
    assert (done.taken_back, done.offered, done.unreplaced) == (25, 0, 25)
    assert _allocations(rnd)[1] == ("lot-2", b_id, 25, "withdrawn")


def test_a_backup_supplier_over_its_capacity_is_not_promoted(world, contracting_round):
    from marketplace.models import RoundCapacity

    rnd = contracting_round
    cap = db.session.execute(
        sa.select(RoundCapacity).where(
            RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == world.other_oem.organization_id
        )
    ).scalar_one()
    cap.capacity = 50  # holds 25 on lot-2: 40 more would pass 50
    db.session.commit()
    backup = _backup(rnd, world.oem.organization_id)
    with pytest.raises(Conflict, match="capacity of 50 vehicles"):
        backups.promote(rnd.id, backup.id, "withdrew", "Plant fire", world.coordinator)
    assert _allocations(rnd)[0][3] == "pending"


def test_closing_the_round_lapses_an_unanswered_offer(world, contracting_round):
    rnd = contracting_round
    backup = _backup(rnd, world.oem.organization_id)
    backups.promote(rnd.id, backup.id, "withdrew", "Plant fire", world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CLOSED, world.coordinator, decline_pending_reason="closing early")
    assert [s for *_, s in _allocations(rnd)] == ["withdrawn", "declined", "refused"]
    assert "backup.lapse" in set(db.session.execute(sa.select(AuditEntry.action)).scalars())


def test_the_ocds_export_cancels_the_dropped_award_and_records_the_amendment(world, contracting_round):
    from tests.test_ocds import check

    rnd = contracting_round
    backup = _backup(rnd, world.oem.organization_id)
    backups.promote(rnd.id, backup.id, "default", "Missed the first delivery", world.coordinator)
    package = check(ocds.release_package(db.session.get(Round, rnd.id)))
    awards = {a["id"]: a for a in package["awards"]}
    a_award = awards[f"lot-1-supplier-{world.oem.organization_id}"]
    b_award = awards[f"lot-1-supplier-{world.other_oem.organization_id}"]
    assert a_award["status"] == "cancelled" and b_award["status"] == "pending"
    [amendment] = a_award["amendments"]
    assert "declared in default" in amendment["rationale"] and "Missed the first delivery" in amendment["rationale"]
    assert b_award["amendments"][0]["id"] == amendment["id"]
    backups.answer(backup.id, True, world.other_oem)
    package = check(ocds.release_package(db.session.get(Round, rnd.id)))
    awards = {a["id"]: a for a in package["awards"]}
    assert awards[f"lot-1-supplier-{world.other_oem.organization_id}"]["status"] == "active"


# ---------------------------------------------------------------- deposits follow the new outcome


@pytest.fixture
def fake(app):
    from marketplace import gateways
    from tests.fake_gateway import FakeGateway

    gw = FakeGateway()
    gateways.use(gw)
    app.config["STRIPE_SECRET_KEY"] = "sk_test_fake"
    yield gw
    gateways.use(None)


def _replaced(line_id: int, replacement: ConfirmationStatus | None) -> Allocation:
    """The line's allocation withdrawn (its supplier dropped out), and a backup's allocation in `replacement`."""
    original = db.session.execute(sa.select(Allocation).where(Allocation.demand_line_id == line_id)).scalar_one()
    original.confirmation = CS.WITHDRAWN
    added = None
    if replacement is not None:
        added = Allocation(
            scenario_id=original.scenario_id, lot_id=original.lot_id, demand_line_id=line_id,
            organization_id=original.organization_id, vehicle_model_id=original.vehicle_model_id,
            quantity=original.quantity, unit_price=Decimal("210000"), confirmation=replacement,
        )  # fmt: skip
        db.session.add(added)
    db.session.commit()
    return added


def test_a_charged_deposit_waits_for_the_backup_then_is_refunded_when_nobody_replaces(world, fake):
    from marketplace.services import deposits
    from tests.deposit_helpers import deposit_round, held_deposit, ledger, publish_award

    rnd = deposit_round(world)
    dep = held_deposit(rnd, world, "pm_card_visa")
    publish_award(rnd, world, {dep.demand_line_id: CS.CONFIRMED}, phase=RoundPhase.CONTRACTING)
    deposits.settle_line(dep.demand_line_id)
    assert ledger(dep.id)["state"] == "captured"  # applied to the purchase
    offer = _replaced(dep.demand_line_id, CS.OFFERED)
    assert deposits.settle_line(dep.demand_line_id) is False  # the backup supplier has not answered
    assert ledger(dep.id)["state"] == "captured"
    offer.confirmation = CS.REFUSED
    db.session.commit()
    deposits.settle_line(dep.demand_line_id)
    assert ledger(dep.id)["state"] == "refunded" and ledger(dep.id)["refunded"] == ledger(dep.id)["held"]


def test_declining_a_replacement_forfeits_nothing_and_confirming_it_applies_the_deposit(world, fake):
    from marketplace.services import deposits
    from tests.deposit_helpers import deposit_round, held_deposit, ledger, publish_award

    rnd = deposit_round(world)  # a plain decline forfeits 25 %
    declined, confirmed = held_deposit(rnd, world, "pm_card_visa"), held_deposit(rnd, world, "pm_card_visa")
    publish_award(rnd, world, {declined.demand_line_id: CS.PENDING, confirmed.demand_line_id: CS.PENDING},
                  phase=RoundPhase.CONTRACTING)  # fmt: skip
    _replaced(declined.demand_line_id, CS.DECLINED)
    _replaced(confirmed.demand_line_id, CS.CONFIRMED)
    deposits.settle_round(rnd.id)
    assert ledger(declined.id)["state"] == "released" and ledger(declined.id)["forfeited"] == "0.00"
    assert (
        ledger(confirmed.id)["state"] == "captured" and ledger(confirmed.id)["applied"] == ledger(confirmed.id)["held"]
    )


def test_what_a_dropped_supplier_held_leaves_its_results_and_the_report(world, contracting_round):
    from marketplace.services import reports

    rnd = contracting_round
    backup = _backup(rnd, world.oem.organization_id)
    assert contracting.oem_result_query(rnd.id, world.oem).totals()[1] == 40
    backups.promote(rnd.id, backup.id, "withdrew", "Plant fire", world.coordinator)
    assert contracting.oem_result_query(rnd.id, world.oem).totals()[1] == 0  # nothing left to deliver
    assert contracting.oem_result_query(rnd.id, world.other_oem).totals()[1] == 25 + 40  # with the offer
    report = reports.compute_report(db.session.get(Round, rnd.id))
    assert (report.pending, report.declined) == (25 + 40, 0)  # the taken-back 40 are not counted twice
    figures = award.compute_figures(rnd, db.session.get(AwardScenario, rnd.published_scenario_id))
    assert (figures.awarded, figures.total_price) == (65, Decimal("15600000.00"))  # B's 40 at 240,000, not A's too


def _outcomes(html: str) -> dict[str, str]:
    """The OEM's feedback table: each lot's outcome cell as text."""
    table = html[html.index('data-testid="feedback"') :]
    return {
        lot: " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for lot, cell in re.findall(r'<td>(lot-\d+)</td>.*?data-testid="outcome">(.*?)</td>', table, re.S)
    }


def test_an_oem_that_dropped_out_is_told_so_and_what_it_delivers_now(world, contracting_round, login):
    """Issue 20: the feedback said "won 40" on a lot the OEM had dropped out of. Now it says it dropped out
    and delivers none there; the backup supplier sees what it took on; a lot nobody touched reads as before."""
    from marketplace.models import FeedbackRule

    rnd = contracting_round
    rnd.feedback_rule = FeedbackRule.WON_LOST
    db.session.commit()
    backup = _backup(rnd, world.oem.organization_id)
    backups.promote(rnd.id, backup.id, "default", "No deliveries this year", world.coordinator)
    backups.answer(backup.id, True, world.other_oem)
    a_page = login(world.oem).get(f"/oem/rounds/{rnd.id}/results").get_data(as_text=True)
    assert _outcomes(a_page) == {"lot-1": "dropped out won 40 vehicles, then declared in default you deliver none now"}
    gist = a_page.split('data-testid="feedback-outcomes">')[1].split("</p>")[0]
    assert re.sub(r"<[^>]+>", "", gist) == "You offered on 1 lot: won, then declared in default 1."
    b_page = login(world.other_oem).get(f"/oem/rounds/{rnd.id}/results").get_data(as_text=True)
    assert _outcomes(b_page) == {
        "lot-1": "backup supplier offered 40 vehicles as a backup you deliver 40 now",
        "lot-2": "won 25 vehicles",
    }
    gist = b_page.split('data-testid="feedback-outcomes">')[1].split("</p>")[0]
    assert re.sub(r"<[^>]+>", "", gist) == "You offered on 2 lots: backup supplier 1, won 1."


def test_a_promoted_backup_delivers_in_the_quarters_the_solver_planned(world, login):
    """The real solver's backup (no hand-written one): OEM A delivers only in 2027Q2, OEM B only in 2027Q3.
    Once B's backup is promoted and accepted, the fleet's schedule, B's won-by-quarter view and the report
    show B's 2027Q3 deliveries and nothing of A's."""
    from marketplace.models import AllocationDelivery
    from marketplace.services import deliveries, quarter_capacity, reports

    rnd, (lot,) = make_tender(
        world.coordinator, world.fleet.organization, lots=[{"region_id": "US-CA", "quantity": 40}]
    )
    make_bid(world.oem, lot, make_model(world.oem.organization), tiers=((10, "230000"),))
    make_bid(world.other_oem, lot, make_model(world.other_oem.organization), tiers=((10, "240000"),))
    ramp = {"row1_quarter": "2027Q2", "row1_segment": "", "row1_capacity": "500"}
    quarter_capacity.set_rows(rnd.id, ramp, world.oem)
    quarter_capacity.set_rows(rnd.id, ramp | {"row1_quarter": "2027Q3"}, world.other_oem)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    rnd = db.session.get(Round, rnd.id)
    backup = _backup(rnd, world.oem.organization_id)
    [row] = backup.rows
    assert (row.organization_id, row.quantity, row.deliveries) == (
        world.other_oem.organization_id,
        40,
        [{"quarter": "2027Q3", "quantity": 40}],
    )

    backups.promote(rnd.id, backup.id, "withdrew", "Plant fire", world.coordinator)
    backups.answer(backup.id, True, world.other_oem)
    offered = db.session.execute(sa.select(Allocation).where(Allocation.backup_id == backup.id)).scalar_one()
    assert [(d.quarter, d.quantity) for d in offered.deliveries] == [("2027Q3", 40)]
    assert db.session.execute(sa.select(sa.func.count(AllocationDelivery.id))).scalar_one() == 2  # A's and B's

    fleet_page = login(world.fleet).get(f"/fleet/rounds/{rnd.id}/allocations").get_data(as_text=True)
    assert '<tr data-quarter="2027Q3"><td class="fw-semibold">2027Q3</td><td class="text-end">40</td>' in fleet_page
    assert 'data-quarter="2027Q2"' not in fleet_page  # A's vehicles were taken back
    b_page = login(world.other_oem).get(f"/oem/rounds/{rnd.id}/results").get_data(as_text=True)
    assert '<tr data-quarter="2027Q3"><td class="fw-semibold">2027Q3</td><td class="text-end">40</td>' in b_page
    assert "8 % used" in b_page  # 40 of the 500 B can deliver in 2027Q3
    report = reports.compute_report(db.session.get(Round, rnd.id))
    assert [(q.quarter, q.awarded, q.confirmed) for q in report.by_quarter] == [("2027Q3", 40, 0)]
    assert deliveries.by_scenario([scenario.id]) == {scenario.id: {"2027Q3": 40}}  # the comparison's chart


def _rows_of(html: str) -> dict[str, str]:
    """The backups page's table rows by lot code, as the text of their cells."""
    found = {}
    for chunk in html.split("<tr data-backup=")[1:]:
        cells = [re.sub(r"<[^>]+>", " ", c) for c in chunk.split("</tr>")[0].split("<td")[1:]]
        text = [" ".join(c.split(">", 1)[1].split()) for c in cells]
        found[text[0]] = " | ".join(text[1:])
    return found


def test_the_backups_page_says_what_a_backup_replaces_of_what_the_winner_holds_now_and_pages(world, login):
    """The real solver's backups: OEM B, with room for 30 vehicles, would replace OEM A's lines of 24 and 6 of
    the 40 A won on lot-1 (whole lines); once the fleet declines the 6, the page says B replaces 24 of the 34
    vehicles A holds, not "30 of 40"."""
    from marketplace.services import bidding
    from tests.factories import make_line

    rnd, (lot, alone) = make_tender(
        world.coordinator, world.fleet.organization, lots=[{"region_id": "US-CA", "quantity": 24}, {"quantity": 20}]
    )
    lines = {24: lot.members[0].demand_line_id}
    for quantity in (10, 6):
        line = make_line(rnd, world.fleet.organization, quantity=quantity)
        db.session.add(LotMember(lot_id=lot.id, demand_line_id=line.id, quantity=quantity))
        lines[quantity] = line.id
    lot.quantity = 40
    db.session.commit()
    a_model, b_model = make_model(world.oem.organization), make_model(world.other_oem.organization)
    make_bid(world.oem, lot, a_model, tiers=((10, "230000"),))
    make_bid(world.oem, alone, a_model, tiers=((10, "230000"),))
    bidding.set_capacity(rnd.id, 30, world.other_oem)
    make_bid(world.other_oem, lot, b_model, tiers=((10, "240000"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    scenario = award.start_scenario(rnd.id, world.coordinator, award.ScenarioRules(name="Round rules"))
    award.publish_scenario(scenario.id, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    backup = db.session.execute(
        sa.select(Backup).where(Backup.scenario_id == scenario.id, Backup.lot_id == lot.id)
    ).scalar_one()
    assert backup.withdrawn_id == world.oem.organization_id
    assert sorted((r.demand_line_id, r.quantity) for r in backup.rows) == [(lines[24], 24), (lines[6], 6)]
    assert (backup.quantity, backup.covered_quantity) == (40, 30)
    declined = db.session.execute(
        sa.select(Allocation).where(Allocation.scenario_id == scenario.id, Allocation.demand_line_id == lines[6])
    ).scalar_one()
    contracting.decide(declined.id, False, world.fleet)

    coordinator = login(world.coordinator)
    url = f"/coordinator/rounds/{rnd.id}/backups"
    html = coordinator.get(url).get_data(as_text=True)
    a, b = world.oem.organization.name, world.other_oem.organization.name
    assert _rows_of(html) == {
        "lot-1": f"{a} | 40 | 34 6 declined | {b} | 24 of 34 | 5,760,000 USD +4.3 % vs winner | not promoted | "
        "Winner drops out…",  # B's 240,000 a vehicle against A's 230,000
        "lot-2": f"{a} | 20 | 20 | nobody can replace it | none | — | not promoted | Winner drops out…",
    }
    summary = " ".join(
        re.sub(r"<[^>]+>", " ", html.split('data-testid="backups-summary">')[1].split("</ul>")[0]).split()
    )
    assert summary == (
        "2 winners (a supplier in a lot) 0 with a backup for every vehicle they won 1 with a backup for part of "
        "them 1 that nobody can replace 0 promoted"
    )
    # Paged and filtered in SQL, like the other lists that grow with the data.
    page = coordinator.get(url + "?per_page=1&page=2").get_data(as_text=True)
    assert "2–2 of 2 winners" in page and list(_rows_of(page)) == ["lot-2"]
    assert list(_rows_of(coordinator.get(url + "?show=nobody+can+replace").get_data(as_text=True))) == ["lot-2"]
    # A "Show" value the list does not offer (an edited link) is ignored: every winner, "every winner" selected.
    edited = coordinator.get(url + "?show=everything").get_data(as_text=True)
    assert list(_rows_of(edited)) == ["lot-1", "lot-2"] and "selected" not in edited.split('id="show"')[1][:600]
    assert list(_rows_of(coordinator.get(url + "?sort=vehicles").get_data(as_text=True))) == ["lot-2", "lot-1"]
    nobody = coordinator.get(url + f"?winner={b}").get_data(as_text=True)
    assert _rows_of(nobody) == {} and "No winner matches these filters." in nobody
    # Promoting takes back the 34 A holds and offers B's 24: what the page said.
    done = backups.promote(rnd.id, backup.id, "withdrew", "Plant fire", world.coordinator)
    assert (done.taken_back, done.offered, done.unreplaced) == (34, 24, 10)
    row = _rows_of(coordinator.get(url).get_data(as_text=True))["lot-1"]
    assert row.startswith(f"{a} | 40 | 0 taken back | {b} | 24 offered | 5,760,000 USD | waiting for the backup")

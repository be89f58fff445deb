"""Feedback to OEMs after the award, by the round's rule; never another supplier's name or price.

The round of tests/report_helpers.py: on lot-1 OEM A bids 230,000 and wins, OEM C bids 245,000
and loses; on lot-2 OEM B bids 850,000.50 and wins.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import FeedbackRule, User
from marketplace.services import rounds
from marketplace.services.errors import ValidationFailed
from tests.report_helpers import report_round

pytestmark = pytest.mark.commits  # solver jobs report progress on a connection of their own (tests/conftest.py)


def _results(login, made, rule: FeedbackRule, org) -> str:
    made.round.feedback_rule = rule
    db.session.commit()
    user = db.session.execute(sa.select(User).where(User.organization_id == org.id)).scalars().first()
    response = login(user).get(f"/oem/rounds/{made.round.id}/results")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _feedback(html: str) -> str:
    return html[html.index('data-testid="feedback"') :]


@pytest.mark.parametrize("rule", list(FeedbackRule))
def test_a_losing_oem_never_sees_the_winner_or_its_price(world, login, rule):
    made = report_round(world, "awarded")
    html = _results(login, made, rule, made.oem_c)
    for secret in (made.oem_a.name, "230,000", "eBox 26", made.oem_b.name, "850,000"):
        assert secret not in html


def test_won_lost_rank_and_distance_per_lot(world, login):
    made = report_round(world, "awarded")
    html = _feedback(_results(login, made, FeedbackRule.WON_LOST, made.oem_c))
    assert "lot-1" in html and "not awarded to you" in html and "245,000" in html and "lot-2" not in html
    html = _feedback(_results(login, made, FeedbackRule.RANK, made.oem_c))
    assert 'data-testid="rank">2<' in html
    html = _feedback(_results(login, made, FeedbackRule.RANK, made.oem_a))
    assert 'data-testid="rank">1<' in html and "won" in html
    html = _feedback(_results(login, made, FeedbackRule.DISTANCE, made.oem_c))
    assert 'data-testid="distance">6.5 %<' in html  # (245,000 - 230,000) / 230,000
    html = _feedback(_results(login, made, FeedbackRule.NONE, made.oem_c))
    assert "no feedback" in html and "lot-1" not in html


def test_the_rule_is_a_round_setting_checked_by_the_service(world, login):
    settings = rounds.RoundSettings(name="Feedback round", segment_ids=["md_box_truck"], region_ids=["US"],
                                    feedback_rule="rank")  # fmt: skip
    rnd = rounds.create_round(settings, world.coordinator)
    assert rnd.feedback_rule is FeedbackRule.RANK
    assert rounds.settings_of(rnd).feedback_rule == "rank"
    with pytest.raises(ValidationFailed) as refused:
        rounds.update_round(rnd.id, rounds.RoundSettings(name="Feedback round", segment_ids=["md_box_truck"],
                                                         region_ids=["US"], feedback_rule="prices"), world.coordinator)  # fmt: skip
    assert "feedback_rule" in refused.value.field_errors
    client = login(world.coordinator)
    form = client.get(f"/coordinator/rounds/{rnd.id}/edit").get_data(as_text=True)
    assert '<option selected value="rank">' in form

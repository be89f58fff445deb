"""The service-level access policy with an actor that is not a logged-in user (an API token, a job).

The route x role matrix (test_access.py) covers the views; these pin that the services decide
from the actor passed in, whoever it is, and never from a web session.
"""

from __future__ import annotations

import pytest

from marketplace.models import RoundPhase
from marketplace.services import access, demand, rounds
from marketplace.services.access import OrganizationActor
from marketplace.services.errors import Forbidden, NotFound
from tests.demand_helpers import NOW, open_round, valid_values
from tests.factories import make_round


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


def test_an_organization_actor_without_a_user_acts_for_its_organization(world, app):
    rnd = open_round(world, region_ids=["US-CA", "US-TX"])
    fleet = OrganizationActor(world.fleet.organization)
    with app.test_request_context():  # no one is logged in: the services must not need current_user
        line = demand.create_line(rnd.id, valid_values(), fleet)
        assert access.own_line(fleet, line.id).id == line.id
        assert access.own_line(world.fleet, str(line.id)).id == line.id
        with pytest.raises(NotFound):
            access.own_line(OrganizationActor(world.other_fleet.organization), line.id)
        with pytest.raises(Forbidden):
            access.own_line(OrganizationActor(world.oem.organization), line.id)


def test_a_draft_round_exists_only_for_coordinators(world):
    draft = make_round(world.coordinator)
    assert draft.phase is RoundPhase.DRAFT
    coordinator = OrganizationActor(world.coordinator.organization)
    assert access.visible(coordinator, draft) is draft
    for actor in (world.fleet, OrganizationActor(world.oem.organization), None):
        with pytest.raises(NotFound):
            access.visible(actor, draft)
    assert draft in rounds.visible_rounds(coordinator)
    assert draft not in rounds.visible_rounds(OrganizationActor(world.fleet.organization))


def test_role_refusals_name_the_role(world):
    with pytest.raises(Forbidden, match="coordinator"):
        access.require_coordinator(OrganizationActor(world.fleet.organization))
    with pytest.raises(Forbidden, match="fleet"):
        access.require_fleet(world.oem)
    with pytest.raises(Forbidden, match="OEM"):
        access.require_oem(world.fleet)

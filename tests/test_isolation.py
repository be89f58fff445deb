"""The suite's own isolation (tests/conftest.py): what a test writes, committed or not, is gone after
it, while inside it the code's commits and rollbacks behave as they do in production."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Organization, OrganizationKind
from tests.conftest import _rolled_back
from tests.factories import make_org


def _names() -> set[str]:
    return set(db.session.scalars(sa.select(Organization.name)))


@pytest.mark.commits  # on the emptying path, so that this test can open the rolled-back one itself
def test_a_rolled_back_test_leaves_nothing_yet_commits_and_rollbacks_work_inside_it(app):
    with _rolled_back(app):
        make_org(OrganizationKind.FLEET, name="Committed by the code")  # commits
        db.session.add(Organization(name="Never committed", kind=OrganizationKind.OEM, country="US"))
        db.session.flush()
        db.session.rollback()  # undoes what followed the last commit only, as in production
        assert _names() == {"Committed by the code"}
        # A side connection could not see the test's rows: it fails loudly instead of passing wrongly.
        with pytest.raises(RuntimeError, match=r"mark it @pytest\.mark\.commits"), db.engine.begin():
            pass
    assert _names() == set()  # read on a connection of its own: the committed row is gone too


@pytest.mark.commits
def test_a_test_marked_commits_writes_for_real(app):
    make_org(OrganizationKind.FLEET, name="Really committed")
    with db.engine.connect() as other:  # another connection sees it
        assert other.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1

"""Access control: every route x every role x another organization's object.

Each route the app has must appear in ROUTES (a test checks it), so every later route
arrives here with what each role may get from it. Other organizations' objects answer
404, not 403, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from marketplace.extensions import db
from marketplace.models import AwardScenario, LineService, PoolingRun, RoundPhase
from tests.factories import World, make_round

ROLES = ("anonymous", "fleet", "oem", "coordinator")
LOGIN = 302  # anonymous users are sent to the login page


@dataclass
class Objects:
    world: World
    draft_round_id: int
    pooling_run_id: int = 0
    scenario_id: int = 0

    def own_org(self, role: str) -> int:
        user = self.world.user(role) or self.world.fleet
        return user.organization_id

    def demand(self, key: str) -> int | str:
        """A demand-open round with a line and a staged upload of each fleet (made when a route asks)."""
        if not hasattr(self, "_demand"):
            from tests.demand_helpers import access_objects

            self._demand = access_objects(self.world)
        return self._demand[key]

    def notice_of_other_user(self) -> int:
        """A notice of the other fleet's user: nobody else may open it."""
        if not hasattr(self, "_notice"):
            from marketplace.models import Notice

            notice = Notice(user_id=self.world.other_fleet.id, event_key="test", kind="test", title="Test", link="/")
            db.session.add(notice)
            db.session.commit()
            self._notice = notice.id
        return self._notice

    def other_token(self) -> int:
        """An API token of another fleet (made when a route asks)."""
        if not hasattr(self, "_token"):
            from marketplace.services import api_tokens

            self._token = api_tokens.create_token(self.world.other_fleet, name="theirs", scope="write").token.id
        return self._token

    def oem(self, key: str) -> int | str:
        """A tender with a model, bid and package of each OEM ("model", "other_bid"...), made when a route asks."""
        if not hasattr(self, "_oem"):
            from tests.bidding_helpers import access_objects as oem_objects

            self._oem = oem_objects(self.world)
        return self._oem[key]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: Callable[[Objects, str], str]
    expect: dict[str, int]
    data: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def id(self) -> str:
        return self.name or self.endpoint


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only(role: str, status: int = 200) -> dict[str, int]:
    return {r: (LOGIN if r == "anonymous" else status if r == role else 403) for r in ROLES}


COORDINATOR_ONLY = only("coordinator")
DEMAND_FORM = {"segment": "md_box_truck", "region": "US-CA", "quantity": "8", "earliest_quarter": "2030Q1",
               "latest_quarter": "2030Q4", "charging": "CCS1", "max_unit_price": "200000"}  # fmt: skip

ROUTES = [
    Route("main.landing", "GET", lambda o, r: "/", everyone(200)),
    Route("main.healthz", "GET", lambda o, r: "/healthz", everyone(200)),
    Route("main.dashboard", "GET", lambda o, r: "/dashboard", everyone(302)),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.own_org(r)}",
          {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}, name="organization-own"),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.world.other_fleet.organization_id}",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 200}, name="organization-other-fleet"),
    Route("main.organization", "GET", lambda o, r: f"/organizations/{o.world.other_oem.organization_id}",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 200}, name="organization-other-oem"),
    Route("main.organization", "GET", lambda o, r: "/organizations/999999",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 404}, name="organization-missing"),
    Route("auth.login", "GET", lambda o, r: "/login", {"anonymous": 200, "fleet": 302, "oem": 302, "coordinator": 302}),
    Route("auth.logout", "POST", lambda o, r: "/logout", everyone(302)),
    Route("auth.register", "GET", lambda o, r: "/register", {"anonymous": 200, "fleet": 302, "oem": 302, "coordinator": 302}),
    Route("auth.account", "GET", lambda o, r: "/account", {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}),
    Route("auth.number_format", "POST", lambda o, r: "/account/number-format",
          {"anonymous": LOGIN, "fleet": 302, "oem": 302, "coordinator": 302}, data={"number_format": "point"}),
    # API tokens (issue 19): made by anyone logged in (201 shows it once); another organization's token is 404.
    Route("auth.create_api_token", "POST", lambda o, r: "/account/api-tokens",
          {"anonymous": LOGIN, "fleet": 201, "oem": 201, "coordinator": 201}, data={"name": "ERP", "scope": "read"}),
    Route("auth.revoke_api_token", "POST", lambda o, r: f"/account/api-tokens/{o.other_token()}/revoke",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 404}, name="revoke-other-organizations-token"),
    # The API's description and documentation are public (the API itself: tests/test_api_access.py).
    Route("api-docs.openapi_json", "GET", lambda o, r: "/api/v1/openapi.json", everyone(200)),
    Route("api_docs.page", "GET", lambda o, r: "/api/v1/docs", everyone(200)),
    Route("api_docs.asset", "GET", lambda o, r: "/api/v1/docs/assets/swagger-ui.css", everyone(200)),
    Route("auth.change_password", "POST", lambda o, r: "/account/password", {"anonymous": LOGIN, "fleet": 400, "oem": 400, "coordinator": 400}),
    Route("coordinator.dashboard", "GET", lambda o, r: "/coordinator/", COORDINATOR_ONLY),
    Route("coordinator.new_round", "GET", lambda o, r: "/coordinator/rounds/new", COORDINATOR_ONLY),
    Route("coordinator.round_detail", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}", COORDINATOR_ONLY),
    Route("coordinator.round_detail", "GET", lambda o, r: "/coordinator/rounds/999999", only("coordinator", 404),
          name="round-missing"),
    Route("coordinator.edit_round", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/edit", COORDINATOR_ONLY),
    Route("coordinator.transition", "POST", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/transition",
          only("coordinator", 302), data={"target": "cancelled", "confirm": "y"}),
    Route("coordinator.transition", "POST", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/transition",
          only("coordinator", 400), data={"target": "cancelled"}, name="transition-unconfirmed"),
    Route("coordinator.confirm_transition", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/move/cancelled", COORDINATOR_ONLY),
    Route("coordinator.confirm_transition", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/move/closed", only("coordinator", 409),
          name="confirm-transition-impossible"),
    Route("coordinator.organizations", "GET", lambda o, r: "/coordinator/organizations", COORDINATOR_ONLY),
    Route("coordinator.decide_organization", "POST", lambda o, r: f"/coordinator/organizations/{o.world.other_fleet.organization_id}/approve", only("coordinator", 409)),
    Route("coordinator.new_coordinator", "GET", lambda o, r: "/coordinator/users/new", COORDINATOR_ONLY),
    # Pooling: coordinators only; the draft round cannot be pooled (409), the queued run cannot be published (409).
    Route("coordinator.pooling_page", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/pooling",
          COORDINATOR_ONLY),
    Route("coordinator.start_pooling", "POST", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/pooling",
          only("coordinator", 409), data={"min_lot_quantity": "20", "max_lot_quantity": "400",
                                          "max_levels_up": "2", "time_limit": "5"}),
    Route("coordinator.lot_detail", "GET", lambda o, r: f"/coordinator/lots/{o.oem('lot')}", COORDINATOR_ONLY),
    Route("coordinator.lot_detail", "GET", lambda o, r: "/coordinator/lots/999999", only("coordinator", 404),
          name="coordinator-unknown-lot"),
    Route("coordinator.pooling_progress", "GET", lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/progress",
          COORDINATOR_ONLY),
    Route("coordinator.pooling_progress", "GET", lambda o, r: "/coordinator/pooling-runs/999999/progress",
          only("coordinator", 404), name="pooling-progress-missing"),
    Route("coordinator.cancel_pooling", "POST", lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/cancel",
          only("coordinator", 302)),
    Route("coordinator.publish_pooling", "POST", lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/publish",
          only("coordinator", 409), data={"confirm": "y"}),
    Route("coordinator.publish_pooling", "GET", lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/publish",
          only("coordinator", 409), name="publish-pooling-confirm"),
    Route("coordinator.pooling_document", "GET",
          lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/input.json", COORDINATOR_ONLY),
    Route("coordinator.pooling_document", "GET",
          lambda o, r: f"/coordinator/pooling-runs/{o.pooling_run_id}/output.json", only("coordinator", 404),
          name="pooling-output-not-yet"),
    # Award scenarios: coordinators only; the draft round cannot be awarded (409), nor the queued scenario published.
    Route("coordinator.scenarios", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/scenarios",
          COORDINATOR_ONLY),
    Route("coordinator.start_scenario", "POST", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/scenarios",
          only("coordinator", 409), data={"max_winners_per_lot": "2", "max_share_percent": "100",
                                          "line_service": "whole", "time_limit": "5"}),
    Route("coordinator.scenario_detail", "GET", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}", COORDINATOR_ONLY),
    Route("coordinator.scenario_detail", "GET", lambda o, r: "/coordinator/scenarios/999999", only("coordinator", 404),
          name="scenario-missing"),
    Route("coordinator.scenario_progress", "GET", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/progress",
          COORDINATOR_ONLY),
    Route("coordinator.cancel_scenario", "POST", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/cancel",
          only("coordinator", 302)),
    Route("coordinator.publish_scenario", "POST", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/publish",
          only("coordinator", 409), data={"confirm": "y"}),
    Route("coordinator.publish_scenario", "GET", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/publish",
          only("coordinator", 409), name="publish-scenario-confirm"),
    Route("coordinator.scenario_document", "GET", lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/input.json",
          COORDINATOR_ONLY),
    # Round report and open data: coordinators only, for a round in any phase (a draft reports zeros).
    Route("coordinator.round_report", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/report",
          COORDINATOR_ONLY),
    Route("coordinator.round_report", "GET", lambda o, r: "/coordinator/rounds/999999/report",
          only("coordinator", 404), name="round-report-missing"),
    Route("coordinator.round_report_download", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/report.xlsx", COORDINATOR_ONLY),
    Route("coordinator.round_report_download", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/report.csv", COORDINATOR_ONLY, name="round-report-csv"),
    Route("coordinator.round_ocds", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/ocds.json",
          COORDINATOR_ONLY),
    # The market view (issue 18): coordinators only, once lots are published (the draft round: 409).
    Route("coordinator.market_view", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/market",
          only("coordinator", 409)),
    Route("coordinator.bids_download", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/bids.xlsx",
          only("coordinator", 409)),
    Route("coordinator.bids_download", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/bids.csv",
          only("coordinator", 409), name="bids-csv"),
    # A scenario's exports (the access table's scenario is queued: nothing to export yet, 409).
    Route("coordinator.scenario_export", "GET",
          lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/allocations.xlsx", only("coordinator", 409)),
    Route("coordinator.scenario_export", "GET",
          lambda o, r: f"/coordinator/scenarios/{o.scenario_id}/summary.csv", only("coordinator", 409),
          name="scenario-summary-csv"),
    Route("coordinator.scenario_export", "GET", lambda o, r: "/coordinator/scenarios/999999/allocations.csv",
          only("coordinator", 404), name="scenario-export-missing"),
    # The audit log: coordinators only; a filter that cannot be read is a 400 with its message.
    Route("coordinator.audit_log", "GET", lambda o, r: "/coordinator/audit", COORDINATOR_ONLY),
    Route("coordinator.audit_log", "GET", lambda o, r: "/coordinator/audit?since=yesterday", only("coordinator", 400),
          name="audit-log-bad-day"),
    Route("coordinator.audit_csv", "GET", lambda o, r: "/coordinator/audit.csv", COORDINATOR_ONLY),
    # After the award (the draft round has none: 409 for the right role); other fleets' allocations are 404.
    Route("contracting.fleet_allocations", "GET", lambda o, r: f"/fleet/rounds/{o.draft_round_id}/allocations",
          only("fleet", 409)),
    Route("contracting.decide", "POST", lambda o, r: "/fleet/allocations/NoSuchPublicId00/confirm", only("fleet", 404)),
    Route("contracting.review_decisions", "GET",
          lambda o, r: f"/fleet/rounds/{o.draft_round_id}/allocations/review?decision=confirm&ids=NoSuchPublicId00",
          only("fleet", 404)),
    Route("contracting.decide_many", "POST", lambda o, r: f"/fleet/rounds/{o.draft_round_id}/allocations/decide",
          only("fleet", 404), data={"decision": "confirm", "ids": "NoSuchPublicId00"}),
    Route("contracting.oem_results", "GET", lambda o, r: f"/oem/rounds/{o.draft_round_id}/results", only("oem", 409)),
    Route("contracting.coordinator_allocations", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/contracting", only("coordinator", 409)),
    # Backups (issue 20): the coordinator's view and promotion; a backup supplier's offer (unknown: 404).
    Route("contracting.backups_page", "GET", lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/backups",
          only("coordinator", 409)),
    Route("contracting.promote_backup", "GET",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/backups/NoSuchPublicId00/promote",
          only("coordinator", 409)),
    Route("contracting.promote_backup", "POST",
          lambda o, r: f"/coordinator/rounds/{o.draft_round_id}/backups/NoSuchPublicId00/promote",
          only("coordinator", 409), data={"cause": "withdrew", "reason": "test", "confirm": "y"},
          name="promote-backup-post"),
    Route("contracting.backup_offer", "GET", lambda o, r: "/oem/backups/NoSuchPublicId00", only("oem", 404)),
    Route("contracting.answer_backup", "POST", lambda o, r: "/oem/backups/NoSuchPublicId00/accept",
          only("oem", 404)),
    Route("fleet.dashboard", "GET", lambda o, r: "/fleet/", only("fleet")),
    # Demand (issue 6): a fleet's own lines and uploads; another fleet's answer 404, drafts too.
    Route("fleet.round_page", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}", only("fleet")),
    Route("fleet.round_page", "GET", lambda o, r: f"/fleet/rounds/{o.draft_round_id}", only("fleet", 404),
          name="fleet-round-draft"),
    Route("fleet.new_line", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/lines/new", only("fleet")),
    Route("fleet.new_line", "POST", lambda o, r: f"/fleet/rounds/{o.demand('round')}/lines/new", only("fleet", 302),
          data=DEMAND_FORM, name="fleet-new-line-post"),
    Route("fleet.edit_line", "GET", lambda o, r: f"/fleet/lines/{o.demand('line')}/edit", only("fleet")),
    Route("fleet.edit_line", "POST", lambda o, r: f"/fleet/lines/{o.demand('other_line')}/edit",
          only("fleet", 404), data=DEMAND_FORM, name="fleet-edit-other-fleets-line"),
    Route("fleet.withdraw_line", "GET", lambda o, r: f"/fleet/lines/{o.demand('line')}/withdraw", only("fleet")),
    Route("fleet.withdraw_line", "POST", lambda o, r: f"/fleet/lines/{o.demand('line')}/withdraw",
          only("fleet", 302), name="fleet-withdraw-own-line"),
    Route("fleet.withdraw_line", "POST", lambda o, r: f"/fleet/lines/{o.demand('other_line')}/withdraw",
          only("fleet", 404), name="fleet-withdraw-other-fleets-line"),
    Route("fleet.commit_lines", "POST", lambda o, r: f"/fleet/rounds/{o.demand('round')}/commit", only("fleet", 302),
          data={"all": "1"}),
    Route("fleet.commit_review", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/commit?all=1", only("fleet")),
    Route("fleet.commit_review", "GET",
          lambda o, r: f"/fleet/rounds/{o.demand('round')}/commit?line_ids={o.demand('other_line')}",
          only("fleet", 302), name="fleet-commit-review-other-fleets-line"),
    Route("fleet.upload_template", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/template.xlsx",
          only("fleet")),
    Route("fleet.upload", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload", only("fleet")),
    Route("fleet.upload", "POST", lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload", only("fleet", 400),
          name="fleet-upload-without-file"),
    Route("fleet.upload_preview", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload/{o.demand('token')}",
          only("fleet")),
    Route("fleet.upload_preview", "GET",
          lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload/{o.demand('other_token')}", only("fleet", 404),
          name="fleet-preview-other-fleets-upload"),
    Route("fleet.upload_save", "POST",
          lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload/{o.demand('token')}/save", only("fleet", 302)),
    Route("fleet.upload_save", "POST",
          lambda o, r: f"/fleet/rounds/{o.demand('round')}/upload/{o.demand('other_token')}/save",
          only("fleet", 404), name="fleet-save-other-fleets-upload"),
    Route("fleet.export_lines", "GET", lambda o, r: f"/fleet/rounds/{o.demand('round')}/export.xlsx", only("fleet")),
    Route("oem.dashboard", "GET", lambda o, r: "/oem/", only("oem")),
    # Deposits. The webhook is anonymous but signature-checked: unsigned (or payments off) is 400 for anyone.
    Route("payments.stripe_webhook", "POST", lambda o, r: "/payments/stripe/webhook", everyone(400)),
    Route("payments.my_deposits", "GET", lambda o, r: "/payments/deposits", only("fleet")),
    Route("payments.pay", "GET", lambda o, r: "/payments/deposits/NoSuchPublicId00/pay", only("fleet", 404)),
    Route("payments.check", "POST", lambda o, r: "/payments/deposits/NoSuchPublicId00/check",
          {"anonymous": LOGIN, "fleet": 404, "oem": 403, "coordinator": 404}),
    Route("payments.test_card", "POST", lambda o, r: "/payments/deposits/NoSuchPublicId00/test-card", only("fleet", 404),
          data={"card": "4242424242424242"}),
    Route("payments.round_deposits", "GET", lambda o, r: f"/payments/rounds/{o.draft_round_id}/deposits",
          COORDINATOR_ONLY),
    Route("payments.settle", "POST", lambda o, r: f"/payments/rounds/{o.draft_round_id}/settle",
          only("coordinator", 302)),
    Route("payments.refund", "POST", lambda o, r: "/payments/deposits/NoSuchPublicId00/refund", only("coordinator", 404)),
    Route("oem.catalog_list", "GET", lambda o, r: "/oem/catalog", only("oem")),
    Route("oem.new_model", "GET", lambda o, r: "/oem/catalog/new", only("oem")),
    Route("oem.edit_model", "GET", lambda o, r: f"/oem/catalog/{o.oem('model')}/edit", only("oem")),
    Route("oem.edit_model", "GET", lambda o, r: f"/oem/catalog/{o.oem('other_model')}/edit", only("oem", 404),
          name="oem-edit-other-oems-model"),
    Route("oem.retire_model", "POST", lambda o, r: f"/oem/catalog/{o.oem('model')}/retire", only("oem", 302)),
    Route("oem.retire_model", "POST", lambda o, r: f"/oem/catalog/{o.oem('other_model')}/retire", only("oem", 404),
          name="oem-retire-other-oems-model"),
    Route("oem.tender", "GET", lambda o, r: f"/oem/rounds/{o.oem('round')}", only("oem")),
    Route("oem.tender", "GET", lambda o, r: f"/oem/rounds/{o.draft_round_id}", only("oem", 404),
          name="oem-tender-of-a-draft-round"),
    Route("oem.capacity", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/capacity", only("oem", 302),
          data={"capacity": "80"}),
    Route("oem.quarter_capacity_page", "GET", lambda o, r: f"/oem/rounds/{o.oem('round')}/capacity/quarters",
          only("oem")),
    Route("oem.quarter_capacity_page", "GET", lambda o, r: f"/oem/rounds/{o.draft_round_id}/capacity/quarters",
          only("oem", 404), name="oem-quarter-capacity-of-a-draft-round"),
    Route("oem.quarter_capacity_page", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/capacity/quarters",
          only("oem", 302), data={"row1_quarter": "2027Q2", "row1_segment": "", "row1_capacity": "500"}),
    Route("oem.quarter_capacity_page", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/capacity/quarters",
          only("oem", 400), data={"row1_quarter": "2027Q5", "row1_capacity": "5"}, name="oem-quarter-capacity-bad-row"),
    Route("oem.bid", "GET", lambda o, r: f"/oem/rounds/{o.oem('round')}/lots/{o.oem('lot')}/bid", only("oem")),
    Route("oem.bid", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/lots/{o.oem('lot')}/bid", only("oem", 400),
          name="oem-bid-with-empty-form"),
    Route("oem.bid_detail", "GET", lambda o, r: f"/oem/bids/{o.oem('bid')}", only("oem", 302)),
    Route("oem.bid_detail", "GET", lambda o, r: f"/oem/bids/{o.oem('other_bid')}", only("oem", 404),
          name="oem-see-other-oems-bid"),
    Route("oem.bid_history", "GET", lambda o, r: f"/oem/bids/{o.oem('bid')}/history", only("oem")),
    Route("oem.bid_history", "GET", lambda o, r: f"/oem/bids/{o.oem('other_bid')}/history", only("oem", 404),
          name="oem-see-other-oems-bid-history"),
    Route("oem.withdraw_bid", "POST", lambda o, r: f"/oem/bids/{o.oem('bid')}/withdraw", only("oem", 302)),
    Route("oem.withdraw_bid", "POST", lambda o, r: f"/oem/bids/{o.oem('other_bid')}/withdraw", only("oem", 404),
          name="oem-withdraw-other-oems-bid"),
    Route("oem.new_package", "GET", lambda o, r: f"/oem/rounds/{o.oem('round')}/packages/new", only("oem")),
    Route("oem.package", "GET", lambda o, r: f"/oem/packages/{o.oem('package')}", only("oem")),
    Route("oem.package", "GET", lambda o, r: f"/oem/packages/{o.oem('other_package')}", only("oem", 404),
          name="oem-see-other-oems-package"),
    Route("oem.package_history", "GET", lambda o, r: f"/oem/packages/{o.oem('package')}/history", only("oem")),
    Route("oem.package_history", "GET", lambda o, r: f"/oem/packages/{o.oem('other_package')}/history",
          only("oem", 404), name="oem-see-other-oems-package-history"),
    Route("oem.package", "POST", lambda o, r: f"/oem/packages/{o.oem('other_package')}", only("oem", 404),
          name="oem-revise-other-oems-package"),
    Route("oem.withdraw_package", "POST", lambda o, r: f"/oem/packages/{o.oem('package')}/withdraw",
          only("oem", 302)),
    Route("oem.withdraw_package", "POST", lambda o, r: f"/oem/packages/{o.oem('other_package')}/withdraw",
          only("oem", 404), name="oem-withdraw-other-oems-package"),
    Route("oem.new_package", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/packages/new", only("oem", 400),
          name="oem-package-with-empty-form"),
    Route("oem.bid_sheet_download", "GET", lambda o, r: f"/oem/rounds/{o.oem('round')}/bid-sheet.xlsx", only("oem")),
    Route("oem.bid_sheet_upload", "POST", lambda o, r: f"/oem/rounds/{o.oem('round')}/bid-sheet", only("oem", 400),
          name="oem-bid-sheet-without-file"),
    # Notices (issue 18): each user's own; another user's notice is 404. The outbox page is for coordinators.
    Route("notices.index", "GET", lambda o, r: "/notices", {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}),
    Route("notices.open_notice", "POST", lambda o, r: f"/notices/{o.notice_of_other_user()}/open",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 404}),
    Route("notices.read_all", "POST", lambda o, r: "/notices/read", {"anonymous": LOGIN, "fleet": 302, "oem": 302, "coordinator": 302}),
    Route("notices.preferences", "GET", lambda o, r: "/notices/preferences",
          {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}),
    Route("notices.preferences", "POST", lambda o, r: "/notices/preferences",
          {"anonymous": LOGIN, "fleet": 400, "oem": 400, "coordinator": 400}, data={"notify_mode": "hourly"},
          name="notices-preferences-bad-choice"),
    Route("notices.outbox", "GET", lambda o, r: "/dev/outbox", COORDINATOR_ONLY),
    # Clarifications: members ask (not in draft: 404), the coordinator answers; a coordinator cannot ask.
    Route("clarifications.questions", "GET", lambda o, r: f"/rounds/{o.demand('round')}/questions",
          {"anonymous": LOGIN, "fleet": 200, "oem": 200, "coordinator": 200}),
    Route("clarifications.questions", "GET", lambda o, r: f"/rounds/{o.draft_round_id}/questions",
          {"anonymous": LOGIN, "fleet": 404, "oem": 404, "coordinator": 200}, name="questions-of-a-draft-round"),
    Route("clarifications.ask", "POST", lambda o, r: f"/rounds/{o.demand('round')}/questions",
          {"anonymous": LOGIN, "fleet": 302, "oem": 302, "coordinator": 403}, data={"question": "Is CCS2 fine?"}),
    Route("clarifications.answer", "POST", lambda o, r: "/questions/999999/answer", only("coordinator", 404),
          data={"a999999-answer": "Yes."}),
    Route("clarifications.set_deadline", "POST", lambda o, r: f"/rounds/{o.draft_round_id}/questions/deadline",
          only("coordinator", 302), data={"clarification_deadline": ""}),
]  # fmt: skip

# Pages served from the read-model store, which writes on a connection of its own (tests/conftest.py).
STORED = {"coordinator.round_report", "coordinator.round_report_download", "round-report-csv", "coordinator.round_ocds"}
CASES = [
    pytest.param(route, id=route.id(), marks=[pytest.mark.commits] if route.id() in STORED else []) for route in ROUTES
]


def test_every_route_is_in_the_access_table(app):
    # The API's operations have their own table, every operation x role x token scope: tests/test_api_access.py.
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if not rule.endpoint.startswith("api_v1_")} - {
        "static"
    }
    covered = {route.endpoint for route in ROUTES}
    assert endpoints - covered == set(), "add the new routes to ROUTES with what each role may get"
    assert covered - endpoints == set()
    methods = {
        (rule.endpoint, m) for rule in app.url_map.iter_rules() for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert {(r.endpoint, r.method) for r in ROUTES} <= methods


@pytest.mark.parametrize("route", CASES)
def test_route_answers_each_role_as_it_should(world, login, client, route: Route):
    """One world per route (building it is the slow part); every role asks the same object."""
    rnd = make_round(world.coordinator2, RoundPhase.DRAFT)  # made by another coordinator organization
    run = PoolingRun(round_id=rnd.id, min_lot_quantity=20, max_lot_quantity=400, max_levels_up=2, input_json="{}")
    scenario = AwardScenario(round_id=rnd.id, name="Round rules", max_winners_per_lot=2, max_share_per_supplier=1,
                             line_service=LineService.WHOLE, input_json="{}")  # fmt: skip
    db.session.add_all([run, scenario])
    db.session.commit()
    objects = Objects(world=world, draft_round_id=rnd.id, pooling_run_id=run.id, scenario_id=scenario.id)
    for role in ROLES:
        user = world.user(role)
        if user is None:
            client.post("/logout")
        else:
            client = login(user)
        url = route.url(objects, role)
        response = client.open(url, method=route.method, data=route.data)
        body = response.get_data()[:400]
        assert response.status_code == route.expect[role], f"{role} {route.method} {url}: {body}"
        if route.expect[role] == LOGIN and role == "anonymous":
            assert "/login" in response.location

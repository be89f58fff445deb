"""The JSON API's conventions: tokens, problem details naming the field, idempotency, cursors, rate limits,
money and instants, the OpenAPI 3.1 description and its offline documentation; and the fleet's operations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import ApiToken, AuditEntry, DemandLine, DemandStatus
from marketplace.services import api_tokens
from tests.api_helpers import api_line, auth, token_for
from tests.demand_helpers import NOW, open_round


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    frozen_clock.freeze(NOW)


def lines_of(org_id: int) -> list[DemandLine]:
    return list(db.session.execute(sa.select(DemandLine).where(DemandLine.organization_id == org_id)).scalars())


# ---------------------------------------------------------------- description and documentation


def test_openapi_description_is_3_1_and_lists_the_fleet_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/rounds/{round_id}/lines/bulk" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    post = spec["paths"]["/api/v1/rounds/{round_id}/lines"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"]["content"]


def test_documentation_page_and_its_assets_are_served_by_the_app(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "https://" not in html  # nothing from a CDN: the machines are offline
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/api/v1/docs/assets/..%2Fsetup.py").status_code == 404


# ---------------------------------------------------------------- tokens


def test_a_request_without_a_valid_token_is_401_problem_details(client, world):
    for headers in ({}, {"Authorization": "Bearer zev_not-a-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/rounds", headers=headers)
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_is_stored_hashed_shown_once_and_notes_its_last_use(client, world):
    secret = token_for(world.fleet, "read")
    row = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert secret not in (row.token_hash, row.prefix) and row.token_hash == api_tokens.digest(secret)
    assert row.last_used_at is None
    assert client.get("/api/v1/rounds", headers=auth(secret)).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == NOW


def test_revoked_token_and_token_of_a_deactivated_user_answer_401(client, world):
    secret = token_for(world.fleet)
    token = db.session.execute(sa.select(ApiToken)).scalar_one()
    api_tokens.revoke_token(token.id, world.fleet)
    assert client.get("/api/v1/rounds", headers=auth(secret)).status_code == 401
    other = token_for(world.oem)
    world.oem.active = False
    db.session.commit()
    assert client.get("/api/v1/rounds", headers=auth(other)).status_code == 401


def test_another_organization_cannot_revoke_a_token(world):
    token_for(world.fleet)
    token = db.session.execute(sa.select(ApiToken)).scalar_one()
    from marketplace.services.errors import NotFound

    with pytest.raises(NotFound):
        api_tokens.revoke_token(token.id, world.other_fleet)
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_read_only_token_cannot_write(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet, "read")
    response = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(), headers=auth(secret))
    assert response.status_code == 403
    assert "read" in response.get_json()["detail"]
    assert lines_of(world.fleet.organization_id) == []


def test_account_page_makes_shows_once_and_revokes_tokens(client, login, world):
    login(world.fleet)
    made = client.post("/account/api-tokens", data={"name": "Depot planner", "scope": "write"})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    token = db.session.execute(sa.select(ApiToken)).scalar_one()
    secret = html.split('id="new-api-token">')[1].split("<")[0]
    assert api_tokens.digest(secret) == token.token_hash and token.scope == "write"
    again = client.get("/account").get_data(as_text=True)
    assert secret not in again and token.prefix in again  # shown once; its first characters after
    assert client.get("/api/v1/rounds", headers=auth(secret)).status_code == 200
    assert client.post(f"/account/api-tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/rounds", headers=auth(secret)).status_code == 401
    assert client.post("/account/api-tokens", data={"name": "", "scope": "write"}).status_code == 400


def test_cli_prints_a_token_once(app, world):
    result = app.test_cli_runner().invoke(args=["create-api-token", "--email", world.fleet.email, "--scope", "write"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    token = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert token.token_hash == api_tokens.digest(secret) and token.scope == "write"
    assert token.created_by_id == world.fleet.id
    unknown = app.test_cli_runner().invoke(args=["create-api-token", "--email", "nobody@x.example"])
    assert unknown.exit_code == 2


# ---------------------------------------------------------------- the fleet's demand


def test_fleet_posts_a_line_with_money_as_decimal_string_and_rfc3339_instants(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    response = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(), headers=auth(secret))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["max_unit_price"] == {"amount": "250000.50", "currency": "USD"}
    assert body["created_at"].endswith("+00:00") and body["status"] == "draft"
    line = db.session.get(DemandLine, body["id"])
    assert line.quantity == 10 and str(line.max_unit_price) == "250000.50"
    assert client.get(f"/api/v1/lines/{line.id}", headers=auth(secret)).get_json()["id"] == line.id


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_unit_price", 250000.5, "decimal string"),  # a JSON number would be a binary float
        ("max_unit_price", "250,000.50", "250000.50"),  # never guessed
        ("max_unit_price", "250000.505", "cent"),
        ("earliest_quarter", "2026Q4", "past"),
        ("region", "Atlantis", "not a region"),
        ("quantity", "10", "integer"),
    ],
)
def test_a_wrong_field_is_a_problem_naming_it_and_saves_nothing(client, world, field, value, words):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    response = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(**{field: value}), headers=auth(secret))
    assert response.status_code in (400, 422)
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    entry = next(e for e in problem["errors"] if e["pointer"] == f"/{field}")
    assert words.lower() in entry["detail"].lower(), problem
    assert lines_of(world.fleet.organization_id) == []


def test_bulk_create_names_each_wrong_row_and_saves_nothing_then_saves_all(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    lines = [api_line(quantity=i + 1) for i in range(5)]
    lines[3]["max_unit_price"] = "-5"
    lines[1]["region"] = "Atlantis"
    response = client.post(f"/api/v1/rounds/{rnd.id}/lines/bulk", json={"lines": lines}, headers=auth(secret))
    assert response.status_code == 400
    pointers = [e["pointer"] for e in response.get_json()["errors"]]
    assert pointers == ["/lines/1/region", "/lines/3/max_unit_price"]
    assert lines_of(world.fleet.organization_id) == []
    lines[3]["max_unit_price"] = "199000"
    lines[1]["region"] = "US-CA"
    response = client.post(f"/api/v1/rounds/{rnd.id}/lines/bulk", json={"lines": lines}, headers=auth(secret))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created"] == 5 and body["vehicles"] == 15
    saved = {x.id: x.quantity for x in lines_of(world.fleet.organization_id)}
    assert [saved[i] for i in body["line_ids"]] == [1, 2, 3, 4, 5]  # ids in the order sent


def test_idempotency_key_replays_the_first_answer_and_posts_once(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    headers = auth(secret, **{"Idempotency-Key": "line-0001"})
    first = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(), headers=headers)
    second = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(lines_of(world.fleet.organization_id)) == 1
    other = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(quantity=3), headers=headers)
    assert other.status_code == 422  # the same key for another request
    assert len(lines_of(world.fleet.organization_id)) == 1
    # Another organization's key space is its own.
    theirs = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=api_line(),
                         headers=auth(token_for(world.other_fleet), **{"Idempotency-Key": "line-0001"}))  # fmt: skip
    assert theirs.status_code == 201


def test_a_refused_request_is_replayed_as_refused(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    headers = auth(secret, **{"Idempotency-Key": "bad-1"})
    body = api_line(region="Atlantis")
    first = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=body, headers=headers)
    second = client.post(f"/api/v1/rounds/{rnd.id}/lines", json=body, headers=headers)
    assert first.status_code == second.status_code == 400
    assert first.get_json() == second.get_json()


def test_cursor_pages_cover_every_line_once(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    client.post(f"/api/v1/rounds/{rnd.id}/lines/bulk", json={"lines": [api_line(quantity=i + 1) for i in range(7)]},
                headers=auth(secret))  # fmt: skip
    seen, cursor = [], None
    while True:
        url = f"/api/v1/rounds/{rnd.id}/lines?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=auth(secret)).get_json()
        seen += [x["quantity"] for x in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    bad = client.get(f"/api/v1/rounds/{rnd.id}/lines?cursor=nonsense", headers=auth(secret))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["parameter"] == "cursor"


def test_commit_withdraw_progress_and_another_fleets_line_is_404(client, world):
    rnd = open_round(world)
    secret = token_for(world.fleet)
    ids = client.post(f"/api/v1/rounds/{rnd.id}/lines/bulk", json={"lines": [api_line(), api_line(quantity=4)]},
                      headers=auth(secret)).get_json()["line_ids"]  # fmt: skip
    committed = client.post(f"/api/v1/rounds/{rnd.id}/commit", json={"line_ids": [ids[0]]}, headers=auth(secret))
    assert committed.status_code == 200 and committed.get_json()["committed"] == [ids[0]]
    assert db.session.get(DemandLine, ids[0]).status is DemandStatus.COMMITTED
    progress = client.get(f"/api/v1/rounds/{rnd.id}/pool-progress", headers=auth(secret)).get_json()["items"]
    assert [p["line_id"] for p in progress] == ids and progress[0]["minimum"] == rnd.min_lot_quantity
    withdrawn = client.post(f"/api/v1/lines/{ids[1]}/withdraw", headers=auth(secret))
    assert withdrawn.get_json()["status"] == "withdrawn"
    theirs = auth(token_for(world.other_fleet))
    assert client.get(f"/api/v1/lines/{ids[0]}", headers=theirs).status_code == 404
    assert client.put(f"/api/v1/lines/{ids[0]}", json=api_line(), headers=theirs).status_code == 404
    assert client.post(f"/api/v1/lines/{ids[0]}/withdraw", headers=theirs).status_code == 404
    assert db.session.get(DemandLine, ids[0]).status is DemandStatus.COMMITTED
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar() >= 3


def test_an_id_beyond_the_database_range_is_404_not_a_crash(client, login, world):
    # 2^31 overflowed PostgreSQL's integer column (a 500 found by fuzzing); 30 digits overflowed everything
    for too_big in (2**31, 7125842436090, int("9" * 30)):
        assert client.get(f"/api/v1/rounds/{too_big}", headers=auth(token_for(world.fleet))).status_code == 404
        assert client.get(f"/api/v1/lines/{too_big}", headers=auth(token_for(world.fleet))).status_code == 404
    login(world.coordinator)
    assert client.get(f"/coordinator/rounds/{2**31}").status_code == 404


def test_rate_limit_per_token_answers_429_with_retry_after(app, client, world):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    secret, other = token_for(world.fleet, "read"), token_for(world.oem, "read")
    answers = [client.get("/api/v1/rounds", headers=auth(secret)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/rounds", headers=auth(secret))
    assert limited.content_type == "application/problem+json" and int(limited.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/rounds", headers=auth(other)).status_code == 200  # per token


def test_a_cursor_reveals_no_id_and_serves_only_its_own_list(client, world):
    import base64

    rnd = open_round(world)
    secret = token_for(world.fleet)
    ids = client.post(f"/api/v1/rounds/{rnd.id}/lines/bulk", json={"lines": [api_line(quantity=i + 1) for i in range(3)]},
                      headers=auth(secret)).get_json()["line_ids"]  # fmt: skip
    cursor = client.get(f"/api/v1/rounds/{rnd.id}/lines?limit=1", headers=auth(secret)).get_json()["next_cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert b"/api/v1/" not in raw and b"after" not in raw  # encrypted: neither the list nor the id in clear
    page = client.get(f"/api/v1/rounds/{rnd.id}/lines?limit=1&cursor={cursor}", headers=auth(secret)).get_json()
    assert [x["id"] for x in page["items"]] == [ids[1]]
    readable = base64.urlsafe_b64encode(f"after:{ids[0]}".encode()).decode().rstrip("=")
    forged = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    for bad in (readable, forged):
        refused = client.get(f"/api/v1/rounds/{rnd.id}/lines?cursor={bad}", headers=auth(secret))
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["parameter"] == "cursor"
    elsewhere = client.get(f"/api/v1/rounds/{rnd.id}/pool-progress?cursor={cursor}", headers=auth(secret))
    assert elsewhere.status_code == 422  # a cursor belongs to the list that gave it


def test_making_tokens_on_the_account_page_is_rate_limited_per_person(app, client, login, world):
    app.config["API_TOKEN_LIMIT"] = "2 per hour"
    login(world.fleet)
    assert client.post("/account/api-tokens", data={"name": "", "scope": "write"}).status_code == 400  # not counted
    made = [client.post("/account/api-tokens", data={"name": f"T{i}", "scope": "read"}).status_code for i in range(3)]
    assert made == [201, 201, 429]
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar() == 2
    login(world.other_fleet)
    assert client.post("/account/api-tokens", data={"name": "Theirs", "scope": "read"}).status_code == 201


def test_guessing_tokens_is_limited_per_address_and_never_holds_back_a_valid_token(app, client, world):
    app.config["API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    guesses = [client.get("/api/v1/rounds", headers=auth(f"zev_guess{i}")).status_code for i in range(4)]
    assert guesses == [401, 401, 401, 429]
    paused = client.get("/api/v1/rounds", headers=auth("zev_guess9"))
    assert paused.content_type == "application/problem+json" and int(paused.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/rounds", headers=auth(token_for(world.fleet, "read"))).status_code == 200

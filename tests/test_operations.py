"""Operations: /healthz (database, Redis, the workers' heartbeat) and periodic jobs run once per
time slot however many worker hosts schedule them."""

from __future__ import annotations

import os
import uuid

import pytest

from marketplace import jobs


def test_healthz_reports_the_database_and_that_no_worker_has_beaten_yet(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == "ok"
    assert response.json["worker"]["status"] == "no heartbeat yet"


def test_healthz_reports_the_age_of_the_last_worker_heartbeat(client):
    jobs.write_heartbeat()  # what each worker process does every few seconds
    worker = client.get("/healthz").json["worker"]
    assert worker["status"] == "ok"
    assert 0 <= worker["last_heartbeat_seconds_ago"] < jobs.HEARTBEAT_EVERY_SECONDS
    assert worker["last_worker"] == jobs.worker_name()


def test_healthz_answers_503_when_redis_is_unreachable(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.config["REDIS_URL"] = None
    assert response.status_code == 503
    assert response.json["redis"].startswith("unreachable")
    assert response.json["database"] == "ok"


@pytest.mark.skipif(not os.environ.get("REDIS_TEST_URL"), reason="needs REDIS_TEST_URL (CI sets it)")
def test_with_several_worker_hosts_a_periodic_job_runs_once_per_slot(monkeypatch, frozen_clock):
    from huey import RedisHuey

    # Still within one minute's slot, however slow the calls: on the real clock the three calls could
    # straddle a minute's end, and the first call of the next slot would rightly get through.
    frozen_clock.freeze(frozen_clock.now().replace(second=30))

    monkeypatch.setattr(
        jobs, "huey", RedisHuey(f"marketplace-test-{uuid.uuid4().hex}", url=os.environ["REDIS_TEST_URL"])
    )
    name = f"job-{uuid.uuid4().hex}"
    # Every consumer's scheduler enqueues the job at the same minute: only the first runs it.
    assert [jobs._first_in_slot(name, 1) for _ in range(3)] == [True, False, False]
    assert jobs._first_in_slot(f"other-{name}", 1) is True

"""Point 5: /healthz for the load balancer."""

from __future__ import annotations

import pytest

from tests.deploy.probe import probe, production_env


@pytest.mark.django_db
def test_healthz_answers_ok_to_anyone(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # A cached "ok" would hide an outage.
    assert "no-store" in response["Cache-Control"]
    assert api.head("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_only_reads(api):
    assert api.post("/healthz").status_code == 405


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
    env = production_env(tmp_path, DATABASE_URL="postgres://agora@127.0.0.1:9/agora")
    (health,) = probe(env, [{"path": "/healthz"}])
    assert health["status"] == 503
    assert health["headers"]["Content-Type"] == "application/json"
    body = __import__("json").loads(health["body"])
    assert body["code"] == "service_unavailable"
    assert body["detail"] and body["detail_zh"]
    # The database's own error (host, role, driver) stays in the log, not in the answer.
    assert "127.0.0.1" not in health["body"]

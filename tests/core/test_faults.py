"""Point 6 (faults), in process: a database that stops answering gives a 503, JSON on the API and a plain page
elsewhere, loses nothing, and the next request after it answers again works. The database's failure is made with
Django's own query hook (``connection.execute_wrapper``), the way a dropped connection reaches the code: as an
``OperationalError`` from the driver. tests/deploy/test_database_outage.py stops a real PostgreSQL cluster."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.api.openapi_check import assert_matches
from tests.conftest import client_for
from tests.market.helpers import world_state
from tests.market.test_api import _create_payload


@contextmanager
def database_down(only: str = ""):
    """Every statement (or every one whose SQL contains ``only``) fails as a lost server does."""

    def refuse(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if only in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def _browser() -> Client:
    # As a browser meets the site: no exception re-raised into the test, the page the server renders.
    return Client(raise_request_exception=False)


@pytest.mark.django_db
def test_the_api_answers_json_503_and_recovers(world):
    tender = world.in_state("published")
    api = Client(raise_request_exception=False)
    with database_down():
        for path in ("/api/tenders/", f"/api/tenders/{tender.pk}/", "/api/search/tenders/?q=x", "/api/me/"):
            # A token is looked up in the database: /api/me/ with one meets the outage too.
            down = api.get(path, HTTP_AUTHORIZATION="Token 0123456789abcdef")
            assert down.status_code == 503, path
            assert down["Content-Type"] == "application/json"
            body = down.json()
            assert body["code"] == "service_unavailable" and body["detail"] and "数据库" in body["detail_zh"]
            assert int(down["Retry-After"]) > 0
        # As docs/openapi.yaml documents it for every operation, so a client can rely on it.
        assert_matches(down.json(), "/api/tenders/{id}/", "get", 503)
        login = api.post("/api/auth/token/", {"username": "x", "password": "y"}, content_type="application/json")
        assert (login.status_code, login.json()["code"]) == (503, "service_unavailable")
    back = api.get(f"/api/tenders/{tender.pk}/")
    assert back.status_code == 200 and back.json()["reference"] == tender.reference


@pytest.mark.django_db
def test_pages_answer_a_plain_503_page_without_a_traceback(world):
    tender = world.in_state("published")
    browser = _browser()
    with database_down():
        for path in ("/", f"/tenders/{tender.pk}/", "/agencies/"):
            down = browser.get(path)
            assert down.status_code == 503, path
            assert down["Content-Type"].startswith("text/html")
            page = down.content.decode()
            assert "服务暂时不可用" in page and "Service unavailable" in page
            assert "Traceback" not in page and "OperationalError" not in page
    assert browser.get(f"/tenders/{tender.pk}/").status_code == 200


@pytest.mark.django_db
def test_a_write_cut_off_midway_leaves_nothing_behind(world):
    """The tender's row is written, then the audit entry fails: the purchaser sees 503 and no tender exists."""
    purchaser = client_for(world.purchaser)
    purchaser.raise_request_exception = False
    before = world_state()
    with database_down(only="core_auditentry"):
        refused = purchaser.post("/api/tenders/", _create_payload(), format="json")
    assert (refused.status_code, refused.json()["code"]) == (503, "service_unavailable")
    assert world_state() == before
    created = purchaser.post("/api/tenders/", _create_payload(), format="json")
    assert created.status_code == 201


@pytest.mark.django_db
def test_other_failures_on_the_api_are_json_500_without_the_reason(world):
    """Not an outage, a bug: JSON 500 ``server_error`` on the API, a plain page elsewhere; the cause is logged."""

    def broken(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("secret internals")

    api = _browser()
    with connection.execute_wrapper(broken):
        failed = api.get("/api/tenders/")
        page = api.get("/")
    assert (failed.status_code, failed.json()["code"]) == (500, "server_error")
    assert "secret internals" not in failed.content.decode()
    assert page.status_code == 500 and "Server error" in page.content.decode()
    assert "secret internals" not in page.content.decode()

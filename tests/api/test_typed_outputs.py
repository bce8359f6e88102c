"""Endpoints that used to be documented as a bare `object`: the real response matches the committed schema."""

import jsonschema
import pytest

from tests.api.openapi_check import assert_matches, response_schema


def test_me_matches_schema_with_and_without_organisation(world, api):
    api.force_authenticate(world.purchaser)
    me = api.get("/api/me/").json()
    assert me["organisation"] is not None
    assert_matches(me, "/api/me/", "get")

    world.purchaser.organisation = None
    world.purchaser.save()
    me = api.get("/api/me/").json()
    assert me["organisation"] is None
    assert_matches(me, "/api/me/", "get")


def test_checker_rejects_an_undocumented_field():
    # The checker must be able to fail, or the tests above prove nothing.
    schema = response_schema("/api/me/", "get", 200)
    good = {"username": "u", "role": "purchaser", "organisation": None, "actions": []}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "extra": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "actions": "tender.create"}, schema)


def test_audit_verify_matches_schema(world, api):
    world.draft()  # something in the chain to walk
    api.force_authenticate(world.supervisor)
    result = api.get("/api/audit/verify/").json()
    assert result["ok"] is True and result["checked"] > 0 and result["broken_seq"] is None
    assert_matches(result, "/api/audit/verify/", "get")


def test_agency_own_credit_matches_schema(world, api):
    api.force_authenticate(world.agency)
    credit = api.get("/api/agencies/me/credit/").json()
    assert isinstance(credit["events"], list) and isinstance(credit["list_entries"], list)
    assert_matches(credit, "/api/agencies/me/credit/", "get")

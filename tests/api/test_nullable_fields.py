"""People fields that are empty for the platform's own records answer null, and the schema says they may.

Found by the fuzzer (tests/fuzz/run.py): an agency's certificate has no holder (the key is the organisation's)
and an event the platform records itself has no recorder; both answered null where the schema promised a string.
"""

from django.db import transaction

from agencies.locks import lock_agency
from agencies.services.credit import event_record_locked
from tests.agencies.test_certificates import issue, public_detail
from tests.api.openapi_check import assert_matches


def test_agency_certificate_without_holder_matches_schema(world, api):
    _, body = issue(world.agency)
    assert body["holder"] is None
    assert_matches(body, "/api/agencies/me/certificates/", "post", 201)
    public = api.get(public_detail(body["serial"])).json()
    assert public["holder"] is None
    assert_matches(public, "/api/public/certificates/{serial}/", "get")


def test_credit_event_the_platform_recorded_matches_schema(world, api):
    agency = world.agency.organisation.agency
    with transaction.atomic():
        event_record_locked(lock_agency(agency.pk), actor=None, kind_code="commendation", reason="市级表彰")
    api.force_authenticate(world.supervisor)
    page = api.get("/api/credit/events/").json()
    assert page["results"][0]["recorded_by"] is None
    assert_matches(page, "/api/credit/events/", "get")

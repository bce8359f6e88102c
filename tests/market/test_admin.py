"""Operators' writes in the Django admin are audited like every other user write."""

import pytest
from django.test import Client

from accounts.models import Organisation
from core.audit import audit_verify
from core.models import AuditEntry
from market.models import RuleProfile


@pytest.fixture
def admin_client(world):
    world.operator.is_staff = True
    world.operator.is_superuser = True
    world.operator.save()
    client = Client()
    client.force_login(world.operator)
    return client


def test_changing_a_rule_profile_in_the_admin_is_audited(admin_client, world):
    from django.forms.models import model_to_dict

    profile = RuleProfile.objects.get(name="demo")
    form = {k: v for k, v in model_to_dict(profile).items() if v is not None}
    form.update(
        {
            "title": "演示（已调整）",
            "min_bids": '{"open_tender": 2}',
            "open_tender_min_notice": "00:05:00",
            "supermarket_min_notice": "00:03:00",
            "amendment_cutoff": "00:03:00",
            "objection_cutoff": "00:02:00",
            "objection_reply_period": "00:05:00",
            "decryption_window": "00:02:00",
            "publicity_period": "00:03:00",
            "contract_period": "00:10:00",
        }
    )
    response = admin_client.post(f"/admin/market/ruleprofile/{profile.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="admin.change", object_type="market.ruleprofile")
    assert entry.actor == world.operator
    assert entry.before["title"] != entry.after["title"] == "演示（已调整）"
    assert audit_verify().ok


def test_deleting_an_organisation_in_the_admin_is_audited(admin_client):
    org = Organisation.objects.create(kind="agency", name="待删除机构", uscc="91360100MA00000000", region="360102")
    response = admin_client.post(f"/admin/accounts/organisation/{org.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="admin.delete", object_type="accounts.organisation")
    assert entry.before["name"] == "待删除机构"
    assert not Organisation.objects.filter(pk=org.pk).exists()


def test_tenders_are_read_only_in_the_admin(admin_client, world):
    tender = world.draft()
    page = admin_client.get(f"/admin/market/tender/{tender.pk}/change/")
    assert page.status_code == 200
    assert admin_client.post(f"/admin/market/tender/{tender.pk}/delete/", {"post": "yes"}).status_code == 403

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


def test_the_records_of_the_procedure_cannot_be_changed_even_by_a_superuser(admin_client, world):
    """Bids, key shares, opening keys, opening and evaluation records and lottery commitments are not in the
    admin at all; notices and audit entries are shown but cannot be added, changed or deleted."""
    from django.contrib import admin

    from bidding import models as bidding_models
    from market.models import Notice

    tender = world.in_state("evaluating")
    for model in (
        bidding_models.Bid,
        bidding_models.KeyShare,
        bidding_models.OpeningKey,
        bidding_models.OpeningRecord,
        bidding_models.EvaluationRecord,
        bidding_models.CommitteeScore,
        bidding_models.LotteryCommitment,
    ):
        assert not admin.site.is_registered(model), model
        assert admin_client.get(f"/admin/bidding/{model._meta.model_name}/").status_code == 404
    rows = {
        "notice": Notice.objects.filter(tender=tender).first(),
        "auditentry": AuditEntry.objects.order_by("id").first(),
    }
    app = {"notice": "market", "auditentry": "core"}
    before = {name: list(type(row).objects.filter(pk=row.pk).values()) for name, row in rows.items()}
    for name, row in rows.items():
        url = f"/admin/{app[name]}/{name}/{row.pk}/"
        page = admin_client.get(url + "change/")
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode(), name
        assert admin_client.post(url + "change/", {"title": "改过"}).status_code == 403, name
        assert admin_client.post(url + "delete/", {"post": "yes"}).status_code == 403, name
        assert admin_client.get(f"/admin/{app[name]}/{name}/add/").status_code == 403, name
    assert {name: list(type(row).objects.filter(pk=row.pk).values()) for name, row in rows.items()} == before

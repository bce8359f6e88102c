"""A trading centre sets itself up from an empty database with management commands, and its
operators do their admin work without being superusers."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.test import Client

from accounts.models import Organisation, User
from core.audit import audit_verify
from core.models import AuditEntry
from market.choices import TenderStatus
from market.models import Notice, RuleProfile
from tests.factories import valid_uscc

CENTRE = ["--name", "江州市公共资源交易中心", "--uscc", valid_uscc(9001, "12360400"), "--region", "360400"]
PASSWORD = "Jiangzhou-centre-2026"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def state() -> dict:
    return {
        "organisations": sorted(Organisation.objects.values_list("kind", "name", "uscc")),
        "users": sorted(User.objects.values_list("username", "role", "is_staff", "is_superuser")),
        "audit": AuditEntry.objects.count(),
    }


@pytest.fixture
def centre(db, monkeypatch):
    monkeypatch.setenv("AGORA_NEW_USER_PASSWORD", PASSWORD)
    run("centre_init", *CENTRE)
    return Organisation.objects.get(kind="trading_centre")


def test_a_centre_starts_from_an_empty_database(centre):
    purchaser_code = valid_uscc(9002, "11360400")
    out = run("org_add", "purchaser", "--name", "江州市教育局", "--uscc", purchaser_code, "--region", "360402")
    assert "江州市教育局" in out
    run("org_add", "supervisory_department", "--name", "江州市财政局", "--uscc", valid_uscc(9003, "11360400"),
        "--region", "360400")  # fmt: skip
    run("user_add", centre.uscc, "li.na", "--full-name", "李 娜")
    run("user_add", purchaser_code, "wang.wei")
    run("user_add", "江州市财政局", "zhao.min")

    operator, purchaser, supervisor = (User.objects.get(username=u) for u in ("li.na", "wang.wei", "zhao.min"))
    assert (operator.role, operator.is_staff, operator.is_superuser) == ("operator", True, False)
    assert list(operator.groups.values_list("name", flat=True)) == ["operators"]
    assert (purchaser.role, purchaser.is_staff, purchaser.organisation.name) == ("purchaser", False, "江州市教育局")
    assert supervisor.role == "supervisor"
    assert all(u.check_password(PASSWORD) for u in (operator, purchaser, supervisor))
    # Each step is in the trail, named after the command that made it; no password anywhere in it.
    labels = set(AuditEntry.objects.values_list("actor_label", flat=True))
    assert {"system:centre_init", "system:org_add", "system:user_add"} <= labels
    assert PASSWORD not in str(list(AuditEntry.objects.values_list("after", flat=True)))
    assert audit_verify().ok
    # And they can work: the new operator logs in to the API.
    response = Client().post("/api/auth/token/", {"username": "li.na", "password": PASSWORD})
    assert response.status_code == 200


def test_centre_init_twice_is_harmless_and_a_second_centre_is_refused(centre):
    before = state()
    assert "unchanged" in run("centre_init", *CENTRE)
    with pytest.raises(CommandError, match="centre_exists"):
        run("centre_init", "--name", "另一个中心", "--uscc", valid_uscc(9009, "12360400"), "--region", "360400")
    assert state() == before


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["purchaser", "--name", "某局", "--uscc", "91360100MA00000001", "--region", "360402"], "invalid"),
        (["purchaser", "--name", "某局", "--uscc", valid_uscc(9004), "--region", "999999"], "invalid"),
        (
            ["purchaser", "--name", "江州市公共资源交易中心", "--uscc", valid_uscc(9005), "--region", "360402"],
            "duplicate",
        ),
    ],
    ids=["bad-check-character", "unknown-region", "name-taken"],
)
def test_bad_organisations_are_refused_and_nothing_is_made(centre, args, code):
    before = state()
    with pytest.raises(CommandError, match=code):
        run("org_add", *args)
    assert state() == before


def test_agencies_and_a_second_centre_are_not_made_by_org_add(centre):
    before = state()
    with pytest.raises(CommandError):
        run("org_add", "agency", "--name", "某咨询公司", "--uscc", valid_uscc(9006), "--region", "360402")
    assert state() == before


def test_org_add_needs_the_centre_first(db):
    with pytest.raises(CommandError, match="no_centre"):
        run(
            "org_add",
            "purchaser",
            "--name",
            "江州市教育局",
            "--uscc",
            valid_uscc(9002, "11360400"),
            "--region",
            "360402",
        )
    assert not Organisation.objects.exists()


def test_user_add_refusals_change_nothing(centre, monkeypatch):
    run("user_add", centre.uscc, "li.na")
    before = state()
    with pytest.raises(CommandError, match="taken"):
        run("user_add", centre.uscc, "li.na")
    with pytest.raises(CommandError, match="not_found"):
        run("user_add", "没有这个机构", "someone")
    monkeypatch.setenv("AGORA_NEW_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        run("user_add", centre.uscc, "weak.one")
    monkeypatch.delenv("AGORA_NEW_USER_PASSWORD")
    with pytest.raises(CommandError, match="No password"):
        run("user_add", centre.uscc, "no.password")  # stdin is not a terminal under pytest
    assert state() == before


def test_a_generated_password_is_shown_once_and_works(centre, monkeypatch):
    monkeypatch.delenv("AGORA_NEW_USER_PASSWORD")
    out = run("user_add", centre.uscc, "chen.jing", "--generate-password")
    password = out.rsplit(": ", 1)[1].strip()
    assert User.objects.get(username="chen.jing").check_password(password)
    assert password not in str(list(AuditEntry.objects.values_list("after", flat=True)))


# --- the operators group, made by migration -------------------------------------------------------


@pytest.fixture
def operator_client(centre, world):
    run("user_add", centre.uscc, "li.na")
    client = Client()
    client.force_login(User.objects.get(username="li.na"))
    return client


def test_the_group_grants_no_deletion_and_nothing_on_bids(db):
    codenames = set(Group.objects.get(name="operators").permissions.values_list("content_type__app_label", "codename"))
    assert ("market", "change_ruleprofile") in codenames and ("core", "view_auditentry") in codenames
    assert not [c for c in codenames if c[1].startswith("delete_")]
    assert not [c for c in codenames if c[0] in ("bidding", "authtoken", "auth")]


def test_an_operator_who_is_not_a_superuser_sees_the_admin(operator_client, world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    for page in (
        "/admin/",
        "/admin/market/tender/",
        f"/admin/market/tender/{tender.pk}/change/",
        "/admin/market/notice/",
        "/admin/core/auditentry/",
        "/admin/agencies/agency/",
        "/admin/agencies/creditlistentry/",
        "/admin/accounts/organisation/",
    ):
        assert operator_client.get(page).status_code == 200, page


def test_an_operator_edits_a_rule_profile_in_the_admin(operator_client):
    profile = RuleProfile.objects.get(name="demo")
    form = {k: v for k, v in model_to_dict(profile).items() if v is not None}
    form.update(
        {
            "title": "演示（已调整）",
            "min_bids": '{"open_tender": 2}',
            **{
                f: "00:05:00"
                for f in (
                    "open_tender_min_notice",
                    "supermarket_min_notice",
                    "amendment_cutoff",
                    "objection_cutoff",
                    "objection_reply_period",
                    "decryption_window",
                    "publicity_period",
                    "contract_period",
                )
            },
        }
    )
    response = operator_client.post(f"/admin/market/ruleprofile/{profile.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:1000]
    assert RuleProfile.objects.get(pk=profile.pk).title == "演示（已调整）"
    assert AuditEntry.objects.filter(action="admin.change", actor_label="li.na").exists()


def test_an_operator_cannot_delete_notices_or_audit_entries(operator_client, world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    notice = Notice.objects.filter(tender=tender).first()
    entry = AuditEntry.objects.first()
    before = (Notice.objects.count(), AuditEntry.objects.count())
    assert operator_client.post(f"/admin/market/notice/{notice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert operator_client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert (Notice.objects.count(), AuditEntry.objects.count()) == before


def test_an_operator_cannot_make_anyone_a_superuser(operator_client, centre):
    run("user_add", centre.uscc, "colleague")
    colleague = User.objects.get(username="colleague")
    form = {
        "username": "colleague",
        "is_superuser": "on",
        "is_staff": "on",
        "is_active": "on",
        "organisation": centre.pk,
        "role": "operator",
        "date_joined_0": "2026-03-02",
        "date_joined_1": "09:00:00",
    }
    operator_client.post(f"/admin/accounts/user/{colleague.pk}/change/", form)
    colleague.refresh_from_db()
    assert colleague.is_superuser is False
    me = User.objects.get(username="li.na")
    operator_client.post(f"/admin/accounts/user/{me.pk}/change/", {**form, "username": "li.na"})
    me.refresh_from_db()
    assert me.is_superuser is False


def test_an_operator_cannot_edit_an_agency_organisation(operator_client, world):
    org = world.agency.organisation
    page = operator_client.get(f"/admin/accounts/organisation/{org.pk}/change/")
    assert page.status_code == 200 and 'name="name"' not in page.content.decode()  # shown read-only
    response = operator_client.post(
        f"/admin/accounts/organisation/{org.pk}/change/",
        {"kind": "agency", "name": "改名公司", "uscc": org.uscc, "region": org.region},
    )
    assert response.status_code == 403
    assert Organisation.objects.get(pk=org.pk).name == org.name

"""API tokens are hashed, expire, can be revoked and are shown once; no admin page lists them; the doors an
attacker guesses at (token, login, admin login, registration) are throttled per account and per address."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from agencies.models import Agency
from core import clock
from core.models import AuditEntry
from tests.factories import PASSWORD, user

TOKEN = "/api/auth/token/"


def get_token(username: str, password: str = PASSWORD, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- tokens -----------------------------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_a_digest(db):
    member = user("purchaser")
    answer = get_token(member.username)
    assert answer.status_code == 200
    token = answer.json()["token"]
    assert answer.json()["expires"]
    assert with_token(token).get("/api/agencies/me/").status_code in (403, 404)  # authenticated, not an agency
    assert with_token(token).get("/api/audit/").status_code == 403
    # Nothing stored holds the token: only knox's SHA-512 digest and a lookup prefix.
    row = AuthToken.objects.get(user=member)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    assert token not in str(list(AuthToken.objects.values_list()))
    entry = AuditEntry.objects.get(action="auth.token_create")
    assert token not in str(entry.after) and token[:15] not in entry.object_id


def test_wrong_passwords_get_a_clear_refusal(db):
    member = user("purchaser")
    refused = get_token(member.username, "wrong-password")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "login_failed",
        "detail": "Wrong username or password.",
        "detail_zh": "用户名或密码错误。",
    }
    assert not AuthToken.objects.exists()


def test_an_expired_token_is_refused(db):
    member = user("purchaser")
    token = get_token(member.username).json()["token"]
    AuthToken.objects.filter(user=member).update(expiry=timezone.now() - timedelta(seconds=1))
    response = with_token(token).get("/api/audit/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_logout_revokes_the_current_token_and_logout_all_every_one(db):
    member = user("operator")
    first = get_token(member.username).json()["token"]
    second = get_token(member.username).json()["token"]
    third = get_token(member.username).json()["token"]
    assert with_token(first).post("/api/auth/logout/").json() == {"revoked": 1}
    assert with_token(first).get("/api/audit/").status_code == 401
    assert with_token(second).get("/api/audit/").status_code == 200
    assert with_token(second).post("/api/auth/logout-all/").json() == {"revoked": 2}
    for token in (second, third):
        assert with_token(token).get("/api/audit/").status_code == 401
    assert AuditEntry.objects.filter(action="auth.token_revoke").count() == 2


def test_no_admin_page_lists_tokens(db):
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    member = user("agency")
    token = get_token(member.username).json()["token"]
    digest = AuthToken.objects.get(user=member).digest
    assert not admin.site.is_registered(AuthToken)
    client = Client()
    client.force_login(root)
    index = client.get("/admin/")
    assert index.status_code == 200
    # Every page the admin's index links to, and each model's first change page: no token, no digest.
    links = {href for href in _hrefs(index.content.decode()) if href.startswith("/admin/") and "logout" not in href}
    assert links
    for link in sorted(links):
        page = client.get(link)
        text = page.content.decode(errors="replace")
        assert token not in text and digest not in text and token[:15] not in text, link
        assert "knox" not in link and "token" not in link.lower(), link


def _hrefs(html: str) -> list[str]:
    import re

    return re.findall(r'href="([^"#?]+)', html)


# --- throttling ---------------------------------------------------------------------------------------------------


def test_the_token_door_locks_an_account_and_opens_again_after_the_window(db, settings):
    member = user("purchaser")
    limit = settings.AGORA_THROTTLE["login"]["account"]
    for attempt in range(limit):
        assert get_token(member.username, "wrong", address=f"10.0.1.{attempt}").status_code == 400
    # Locked: even the right password, from any address, is refused with 429 in both languages.
    locked = get_token(member.username, address="10.0.9.9")
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "throttled" and "分钟" in body["detail_zh"] and "minute" in body["detail"]
    assert 0 < int(locked["Retry-After"]) <= settings.AGORA_THROTTLE["login"]["window"]
    assert not AuthToken.objects.exists()
    # Another account is not affected.
    assert get_token(user("purchaser").username, address="10.0.9.9").status_code == 200
    # After the window the right password works again, and clears the account's count.
    clock.advance(timedelta(seconds=settings.AGORA_THROTTLE["login"]["window"] + 1))
    assert get_token(member.username).status_code == 200
    assert get_token(member.username, "wrong").status_code == 400


def test_the_token_door_locks_an_address_trying_many_accounts(db, settings):
    settings.AGORA_THROTTLE = {**settings.AGORA_THROTTLE, "login": {"account": 5, "address": 4, "window": 900}}
    for n in range(4):
        assert get_token(f"nobody-{n}", "guess", address="10.0.2.2").status_code == 400
    member = user("purchaser")
    assert get_token(member.username, address="10.0.2.2").status_code == 429
    assert get_token(member.username, address="10.0.2.3").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_counts(db, settings):
    settings.AGORA_THROTTLE = {**settings.AGORA_THROTTLE, "login": {"account": 50, "address": 2, "window": 900}}
    settings.AGORA_TRUSTED_PROXIES = 1
    client = APIClient()

    def attempt(forwarded: str) -> int:
        return client.post(
            TOKEN,
            {"username": "x", "password": "y"},
            format="json",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    # The client cannot choose its address by writing to the left of the header: the proxy's hop counts.
    assert [attempt(f"1.1.1.{n}, 203.0.113.7") for n in range(3)] == [400, 400, 429]
    assert attempt("203.0.113.8") == 400


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_html_login_doors_are_throttled_too(db, settings, path):
    member = User.objects.create_superuser(username="root", password=PASSWORD)
    limit = settings.AGORA_THROTTLE["login"]["account"]
    client = Client(REMOTE_ADDR="10.0.3.3")
    for _ in range(limit):
        failed = client.post(path, {"username": member.username, "password": "wrong"})
        assert failed.status_code == 200  # the form again
    locked = client.post(path, {"username": member.username, "password": PASSWORD})
    assert locked.status_code == 429 and "分钟" in locked.content.decode() and "minute" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    clock.advance(timedelta(seconds=settings.AGORA_THROTTLE["login"]["window"] + 1))
    assert client.post(path, {"username": member.username, "password": PASSWORD}).status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_registration_is_throttled_per_address(db, settings):
    settings.AGORA_THROTTLE = {
        **settings.AGORA_THROTTLE,
        "registration": {"account": 5, "address": 3, "window": 3600},
    }
    client = APIClient()
    answers = [
        client.post("/api/agencies/register/", {"username": f"spam{n}"}, format="json", REMOTE_ADDR="10.0.4.4")
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].json()["code"] == "throttled" and answers[-1].json()["detail_zh"]
    assert not Agency.objects.exists()
    assert client.post("/api/agencies/register/", {}, format="json", REMOTE_ADDR="10.0.4.5").status_code == 400

"""Point 3: with DEBUG off the site speaks HTTPS only, and each protection can be read from the environment."""

from __future__ import annotations

from tests.deploy.probe import probe


def test_plain_http_is_redirected_but_the_health_probe_is_not(prod_site):
    api, health = probe(prod_site(), [{"path": "/api/tenders/"}, {"path": "/healthz"}])
    assert api["status"] == 301
    assert api["headers"]["Location"] == "https://testserver/api/tenders/"
    # A load balancer probing over HTTP gets the answer, not a redirect.
    assert health["status"] == 200


def test_https_responses_carry_hsts_and_the_other_headers(prod_site):
    (page,) = probe(prod_site(), [{"path": "/admin/login/", "secure": True}])
    assert page["status"] == 200
    assert page["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page["headers"]["X-Frame-Options"] == "DENY"
    assert page["headers"]["Referrer-Policy"] == "same-origin"
    assert page["headers"]["X-Content-Type-Options"] == "nosniff"
    # The login form's CSRF cookie is never sent back over plain HTTP.
    assert page["cookies"]["csrftoken"]["secure"] is True


def test_forwarded_proto_is_believed_only_behind_a_declared_proxy(prod_site):
    request = [{"path": "/api/tenders/", "headers": {"X-Forwarded-Proto": "https"}}]
    # Not declared: a client's own X-Forwarded-Proto must not pass for HTTPS.
    assert probe(prod_site(), request)[0]["status"] == 301
    behind = probe(prod_site(AGORA_BEHIND_PROXY="1"), request)[0]
    assert behind["status"] != 301
    assert "Strict-Transport-Security" in behind["headers"]


def test_each_protection_can_be_turned_off_from_the_environment(prod_site):
    env = prod_site(
        AGORA_SSL_REDIRECT="0",
        AGORA_HSTS_SECONDS="0",
        AGORA_SECURE_COOKIES="0",
        AGORA_REFERRER_POLICY="no-referrer",
    )
    api, login = probe(env, [{"path": "/api/tenders/"}, {"path": "/admin/login/", "secure": True}])
    assert api["status"] != 301
    assert "Strict-Transport-Security" not in login["headers"]
    assert login["cookies"]["csrftoken"]["secure"] is False
    assert login["headers"]["Referrer-Policy"] == "no-referrer"


def test_hsts_lifetime_comes_from_the_environment(prod_site):
    env = prod_site(AGORA_HSTS_SECONDS="600", AGORA_HSTS_INCLUDE_SUBDOMAINS="0", AGORA_HSTS_PRELOAD="0")
    (page,) = probe(env, [{"path": "/healthz", "secure": True}])
    assert page["headers"]["Strict-Transport-Security"] == "max-age=600"

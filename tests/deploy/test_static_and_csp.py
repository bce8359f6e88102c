"""Point 2 and the CSP of point 3: with DEBUG off the admin and the API docs keep their CSS and JS (WhiteNoise
serves what collectstatic gathered, under hashed names), and /api/docs/ runs under the strict policy."""

from __future__ import annotations

import re

import pytest

from tests.deploy.probe import probe


@pytest.fixture
def prod_env(prod_site):  # type: ignore[no-untyped-def]
    return prod_site()


def _get(env, *paths, **options):  # type: ignore[no-untyped-def]
    return probe(env, [{"path": p, "secure": True, **options} for p in paths])


def test_admin_css_is_served_with_debug_off(prod_env):
    (page,) = _get(prod_env, "/admin/login/")
    assert page["status"] == 200
    css = re.findall(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page["body"])
    assert css, "the admin page names its stylesheet by its hashed name"
    (sheet,) = _get(prod_env, css[0])
    assert sheet["status"] == 200
    assert sheet["headers"]["Content-Type"].startswith("text/css")
    assert sheet["length"] > 1000
    # Hashed names never change content, so browsers may keep them for good.
    assert "immutable" in sheet["headers"]["Cache-Control"]


def test_api_docs_scripts_are_served_and_none_is_inline(prod_env):
    (page,) = _get(prod_env, "/api/docs/")
    assert page["status"] == 200
    policy = page["headers"]["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script([^>]*)>", page["body"])
    assert scripts and all("src=" in attributes for attributes in scripts), "no inline script on the page"
    sources = [re.search(r'src="([^"]+)"', a).group(1).replace("&amp;", "&") for a in scripts]  # type: ignore[union-attr]
    bundle = [s for s in sources if "swagger-ui-bundle" in s]
    assert bundle and bundle[0].startswith("/static/drf_spectacular_sidecar/")
    responses = _get(prod_env, *sources)
    for source, response in zip(sources, responses, strict=True):
        assert response["status"] == 200, source
        assert "javascript" in response["headers"]["Content-Type"], source
    # The start-up script (the split view's ?script=) is the one that points the UI at our schema.
    start = dict(zip(sources, responses, strict=True))[next(s for s in sources if "script=" in s)]
    assert "/api/schema/" in start["body"]
    # And its stylesheet, under the same policy (style-src 'self').
    css = re.search(
        r'href="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css)"', page["body"]
    )
    assert css
    (sheet,) = _get(prod_env, css.group(1))
    assert sheet["status"] == 200 and sheet["headers"]["Content-Type"].startswith("text/css")


def test_every_page_carries_the_policy_from_the_setting(prod_env):
    login, health = _get(prod_env, "/admin/login/", "/healthz")
    for response in (login, health):
        policy = response["headers"]["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"):
            assert directive in policy
    custom = probe(dict(prod_env, AGORA_CSP="default-src 'none'"), [{"path": "/healthz"}])[0]
    assert custom["headers"]["Content-Security-Policy"] == "default-src 'none'"
    off = probe(dict(prod_env, AGORA_CSP=""), [{"path": "/healthz"}])[0]
    assert "Content-Security-Policy" not in off["headers"]

"""Refusals a client meets are JSON {code, detail, detail_zh} and documented in docs/openapi.yaml.

Found by the fuzzer (tests/fuzz/run.py): unknown /api/ addresses answered the site's HTML 404, and the schema
documented no refusal at all, so a client could not know the shape of a 401, 404 or 409.
"""

from tests.api.openapi_check import assert_matches, openapi


def test_unknown_api_address_answers_json_404(api):
    for method in ("get", "post", "delete"):
        response = getattr(api, method)("/api/no-such-thing/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["code"] == "not_found"
        assert body["detail"] and body["detail_zh"]
    response = api.get("/api/tenders/1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_unknown_api_address_without_slash_still_redirects(api):
    response = api.get("/api/tenders")
    assert response.status_code == 301 and response["Location"] == "/api/tenders/"


def test_unknown_page_outside_the_api_stays_html(api):
    response = api.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_login_required_answers_documented_401(api):
    response = api.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert_matches(response.json(), "/api/me/", "get", 401)


def test_invalid_fields_answer_documented_400(api):
    response = api.post("/api/auth/token/", {"username": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "password" in body["fields"]
    assert_matches(body, "/api/auth/token/", "post", 400)


def test_missing_object_answers_documented_404(world, api):
    api.force_authenticate(world.purchaser)
    response = api.get("/api/tenders/999999/")
    assert response.status_code == 404
    assert_matches(response.json(), "/api/tenders/{id}/", "get", 404)


def test_wrong_role_answers_documented_403(world, api):
    api.force_authenticate(world.purchaser)
    response = api.get("/api/audit/")
    assert response.status_code == 403
    assert_matches(response.json(), "/api/audit/", "get", 403)


def test_wrong_state_answers_documented_409(world, api):
    tender = world.draft()
    api.force_authenticate(world.operator)
    response = api.post(f"/api/tenders/{tender.pk}/approve/", {}, format="json")
    assert response.status_code == 409, response.json()
    assert_matches(response.json(), "/api/tenders/{id}/approve/", "post", 409)


def test_schema_documents_the_error_shape_on_every_operation():
    schema = openapi()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail", "detail_zh"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            refusals = [s for s in operation["responses"] if s.startswith(("4", "5"))]
            assert refusals, f"{method.upper()} {path} documents no refusal"
    token = schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert {"400", "429"} <= set(token)


def test_notice_filter_by_tender_refuses_what_is_not_an_id(world, api):
    tender = world.draft()
    assert api.get(f"/api/notices/?tender={tender.pk}").status_code == 200
    # A decimal beyond 64 bits used to reach the database and fail there (500).
    for bad in ("-2.508371596213361e+22", "99999999999999999999", "1.5", "0", "x"):
        response = api.get("/api/notices/", {"tender": bad})
        assert response.status_code == 400, (bad, response.status_code)
        assert response.json()["code"] == "invalid"
        assert_matches(response.json(), "/api/notices/", "get", 400)

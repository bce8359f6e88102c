from core.errors import ApplicationError


def test_error_shape_has_code_and_both_languages():
    err = ApplicationError("deadline_too_early", "Too early.", "过早。", fields={"bid_deadline": ["x"]})
    assert err.as_dict() == {
        "code": "deadline_too_early",
        "detail": "Too early.",
        "detail_zh": "过早。",
        "fields": {"bid_deadline": ["x"]},
    }
    assert err.status == 400


def test_chinese_defaults_to_the_english_text_when_not_given():
    assert ApplicationError("x", "Only English.").as_dict()["detail_zh"] == "Only English."


def test_drf_refusals_say_it_in_english_and_chinese(api, db):
    body = api.get("/api/me/", HTTP_AUTHORIZATION="Token not-a-token").json()
    assert (body["code"], body["detail"]) == ("authentication_failed", "Authentication failed.")
    assert body["detail_zh"] == "认证令牌无效。"  # DRF's precise message, in the site language


def test_an_english_request_gets_drfs_precise_english(api, db):
    body = api.get("/api/me/", HTTP_AUTHORIZATION="Token not-a-token", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["detail"], body["detail_zh"]) == ("Invalid token.", "身份认证失败。")

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

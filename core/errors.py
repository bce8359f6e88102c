"""One error type for the whole platform and the API handler that renders it.

Every refusal a user can meet is an :class:`ApplicationError` with a machine-readable ``code``
and a human message in English and Chinese. The API renders every error, ours and DRF's, as
``{"code": ..., "detail": ..., "detail_zh": ...}`` (validation errors add ``"fields"``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A refused request. ``status`` is the HTTP status the API answers with (4xx)."""

    def __init__(
        self, code: str, detail: str, detail_zh: str = "", *, status: int = 400, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.detail_zh = detail_zh or detail
        self.status = status
        self.fields = fields

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail, "detail_zh": self.detail_zh}
        if self.fields:
            body["fields"] = self.fields
        return body


def require_reason(reason: str | None, what_en: str, what_zh: str) -> str:
    """The stripped reason, or a 400 ``reason_required`` naming what needed one."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", f"{what_en} needs a reason.", f"{what_zh}须说明理由。")
    return reason


class Forbidden(ApplicationError):
    def __init__(
        self, detail: str = "You may not do this.", detail_zh: str = "无权执行此操作。", code: str = "forbidden"
    ) -> None:
        super().__init__(code, detail, detail_zh, status=403)


class Throttled(ApplicationError):
    """429: too many attempts; the API adds ``Retry-After`` (seconds)."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "throttled",
            f"Too many failed attempts: try again in {minutes} minute(s).",
            f"失败次数过多，请 {minutes} 分钟后再试。",
            status=429,
        )
        self.retry_after = retry_after


class NotFound(ApplicationError):
    def __init__(self, detail: str = "Not found.", detail_zh: str = "未找到。") -> None:
        super().__init__("not_found", detail, detail_zh, status=404)


_CJK = re.compile("[\u4e00-\u9fff]")
_DRF_CODES: dict[type[Exception], tuple[str, str, str]] = {
    drf_exceptions.NotAuthenticated: ("not_authenticated", "Log in first.", "需要登录。"),
    drf_exceptions.AuthenticationFailed: ("authentication_failed", "Authentication failed.", "身份认证失败。"),
    drf_exceptions.PermissionDenied: ("forbidden", "You may not do this.", "无权执行此操作。"),
    drf_exceptions.NotFound: ("not_found", "Not found.", "未找到。"),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed.", "不支持该请求方法。"),
    drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type.", "不支持的内容类型。"),
    drf_exceptions.ParseError: ("malformed_request", "The request could not be parsed.", "请求格式错误。"),
    drf_exceptions.Throttled: ("throttled", "Too many requests; try again later.", "请求过于频繁。"),
    drf_exceptions.NotAcceptable: ("not_acceptable", "Cannot produce the requested format.", "无法提供所请求的格式。"),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error leaves the API in the one shape."""
    if isinstance(exc, ApplicationError):
        refused = Response(exc.as_dict(), status=exc.status)
        if isinstance(exc, Throttled):
            refused["Retry-After"] = str(exc.retry_after)
        return refused
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request has invalid fields.",
            "detail_zh": "请求字段无效。",
            "fields": exc.detail,
        }
        return response
    code, detail, zh = next(
        ((c, en, z) for kind, (c, en, z) in _DRF_CODES.items() if isinstance(exc, kind)),
        (getattr(exc, "default_code", "error"), "The request was refused.", "请求被拒绝。"),
    )
    # DRF's own message is often more precise ("Invalid token.") and comes in the request's language
    # (the site's is zh-hans): it replaces our text in its own language.
    drf_message = str(getattr(exc, "detail", ""))
    if _CJK.search(drf_message):
        zh = drf_message
    elif drf_message:
        detail = drf_message
    response.data = {"code": code, "detail": detail, "detail_zh": zh}
    return response

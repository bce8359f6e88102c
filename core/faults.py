"""What a user meets when the platform itself fails: never a traceback, never an HTML 500 on the API.

A database that does not answer (stopped, restarting, out of connections, a connection cut) is an outage, not a
bug: the API answers ``503 {"code": "service_unavailable", ...}`` with ``Retry-After``, and every other page a
plain 503 page. Nothing is half-written: each state change is one transaction, which the failure rolls back.
The next request opens a new connection (Django drops an unusable one at the end of the request, and
``CONN_HEALTH_CHECKS`` checks a reused one first), so the site recovers when the database does, without a restart.

Two doors lead here. :class:`ServiceUnavailableMiddleware` sees what a view raises (whatever ``DEBUG`` is), and
:func:`server_error` is the ``handler500`` for what fails outside a view (a session saved after the view, say). Any
other unexpected error on the API is a JSON 500 ``server_error``; its traceback goes to the log only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("agora.faults")

# Seconds a client should wait before trying again: long enough for a database restart or a fail-over.
RETRY_AFTER = 30

UNAVAILABLE = {
    "code": "service_unavailable",
    "detail": "The service is briefly unavailable (its database does not answer). Nothing was changed; "
    "try again in a moment.",
    "detail_zh": "服务暂时不可用（数据库无响应），本次请求未作任何更改，请稍后重试。",
}
SERVER_ERROR = {
    "code": "server_error",
    "detail": "The server failed on this request. Nothing was changed; the operators have the details.",
    "detail_zh": "服务器处理本次请求时出错，未作任何更改；运维人员可查看详细记录。",
}


def is_outage(exc: BaseException | None) -> bool:
    """True for a database that cannot be reached or dropped the connection (psycopg and sqlite3 alike)."""
    return isinstance(exc, OperationalError | InterfaceError)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer: JSON on the API, a plain page elsewhere, the reason in the log. Touches no database."""
    logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(UNAVAILABLE, status=503, json_dumps_params={"ensure_ascii": False})
    else:
        # Rendered without the request: no context processor may reach for the session or the user.
        response = HttpResponse(render_to_string("core/503.html", {"error": UNAVAILABLE}), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class ServiceUnavailableMiddleware:
    """Turns a database outage raised by a view into :func:`unavailable`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception) if is_outage(exception) else None


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``handler500``: Django calls it inside the ``except`` block of the failure, whose exception it reads."""
    exc = sys.exc_info()[1]
    if exc is not None and is_outage(exc):
        return unavailable(request, exc)
    if _wants_json(request):
        return JsonResponse(SERVER_ERROR, status=500, json_dumps_params={"ensure_ascii": False})
    return HttpResponse(render_to_string("core/500.html", {"error": SERVER_ERROR}), status=500)

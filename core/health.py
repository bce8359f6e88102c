"""``GET /healthz``: the load balancer's probe. Public, never redirected to HTTPS (SECURE_REDIRECT_EXEMPT), and
self-contained: it asks the database one question and answers for itself whatever else is down."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.faults import UNAVAILABLE

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok"}`` when the database answers ``SELECT 1``; 503 ``service_unavailable`` otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The reason goes to the log for the operator, not to whoever probes.
        logger.warning("healthz: the database does not answer: %s", exc)
        return JsonResponse(UNAVAILABLE, status=503, json_dumps_params={"ensure_ascii": False})
    return JsonResponse({"status": "ok"})

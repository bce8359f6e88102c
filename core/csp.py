"""Content-Security-Policy from one setting, ``AGORA_CSP``.

A dozen lines of our own rather than django-csp: the platform needs one fixed policy for every response (no
per-view variations, no nonces: no page of ours has an inline script), and a policy kept as the one string the
browser will see is easier to review than a policy assembled from a library's settings.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy: <settings.AGORA_CSP>`` unless the view set its own or the setting is empty."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy: str = getattr(settings, "AGORA_CSP", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

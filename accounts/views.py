"""The HTML login doors (the site's and the admin's), throttled like the API's token door."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from accounts import throttling
from core.errors import Throttled


def throttled_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a Django login view: a locked account or address gets a 429 page (Chinese and English) with
    ``Retry-After`` before its password is even checked; a failed POST (the form comes back) counts a failure; a
    successful one (a redirect) clears the account's failures."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        door = throttling.door("login")
        account = str(request.POST.get("username", ""))[:150]
        address = throttling.client_address(request)
        try:
            throttling.throttle_check(door, account=account, address=address)
        except Throttled as exc:
            page = render_to_string("accounts/throttled.html", {"error": exc}, request=request)
            response = HttpResponse(page, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        response = view(request, *args, **kwargs)
        if response.status_code in (301, 302, 303):
            throttling.throttle_clear(door, account=account)
        else:
            throttling.throttle_fail(door, account=account, address=address)
        return response

    return wrapped

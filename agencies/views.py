"""Public pages: the agency directory and the red and black lists (the API serves the same data)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agencies import selectors
from agencies.choices import CreditList
from core.errors import ApplicationError


def _refused(request: HttpRequest, refusal: ApplicationError) -> HttpResponse:
    return render(request, "market/refused.html", {"refusal": refusal}, status=400)


def directory_page(request: HttpRequest) -> HttpResponse:
    """The directory, with the API's filters (``?category=…&region=…&q=…&list=…``)."""
    try:
        agencies = selectors.agency_directory(params=request.GET).order_by("-score", "organisation__name")[:200]
    except ApplicationError as refusal:
        return _refused(request, refusal)
    return render(request, "agencies/directory.html", {"agencies": agencies})


def credit_lists_page(request: HttpRequest) -> HttpResponse:
    """Both lists side by side, ``?scope=current`` (default) or ``history``, as in the API."""
    scope = request.GET.get("scope") or "current"
    try:
        lists = {
            kind: selectors.list_entries_public(list_kind=kind, scope=scope).order_by("-decided_at")[:200]
            for kind in (CreditList.BLACK, CreditList.RED)
        }
    except ApplicationError as refusal:
        return _refused(request, refusal)
    return render(request, "agencies/credit_lists.html", {"scope": scope, **lists})

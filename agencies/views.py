"""Public pages: the agency directory and the red and black lists (the API serves the same data)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agencies import selectors
from agencies.choices import CreditList


def directory_page(request: HttpRequest) -> HttpResponse:
    agencies = selectors.agency_directory().order_by("-score", "organisation__name")[:200]
    return render(request, "agencies/directory.html", {"agencies": agencies})


def credit_lists_page(request: HttpRequest) -> HttpResponse:
    scope = "history" if request.GET.get("scope") == "history" else "current"
    context = {
        "scope": scope,
        "black": selectors.list_entries_public(list_kind=CreditList.BLACK, scope=scope).order_by("-decided_at")[:200],
        "red": selectors.list_entries_public(list_kind=CreditList.RED, scope=scope).order_by("-decided_at")[:200],
    }
    return render(request, "agencies/credit_lists.html", context)

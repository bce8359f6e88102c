"""Minimal pages: the public list of tenders and notices, and a tender's page. The full public
portal is its own issue; these prove the session login and give a new user something to see."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.errors import ApplicationError, NotFound
from market import selectors


def home(request: HttpRequest) -> HttpResponse:
    # The home page takes the tender listing's filters (?status=…&method=…&region=…), as the API does.
    try:
        tenders = selectors.tender_list(user=request.user, params=request.GET).order_by("-id")[:30]
    except ApplicationError as refusal:
        return render(request, "market/refused.html", {"refusal": refusal}, status=400)
    notices = selectors.notice_list().order_by("-published_at", "-id")[:15]
    return render(request, "market/home.html", {"tenders": tenders, "notices": notices})


def tender_page(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        tender = selectors.tender_get(user=request.user, tender_id=pk)
    except NotFound:
        return render(request, "market/not_found.html", status=404)
    notices = selectors.notice_list(tender_id=tender.pk).order_by("published_at", "id")
    return render(request, "market/tender.html", {"tender": tender, "notices": notices})

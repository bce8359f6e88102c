"""The tender and notice listings' filters, shared by the API and the pages (``core.filtering``).

``region`` is the exact administrative division code (行政区划代码), several separated by commas,
as in the public search listings; no filter here matches a prefix."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from core.filtering import ChoiceList, CommaList, FilterSet, IdFilter
from market.access import owned_tenders_q
from market.choices import Category, Method, NoticeKind, TenderStatus
from market.models import Notice, Tender


class TenderFilterSet(FilterSet):
    status = ChoiceList(
        field_name="status", lookup_expr="in", choices=TenderStatus.choices, help_text="comma-separated"
    )
    method = ChoiceList(
        field_name="method", lookup_expr="in", choices=Method.choices, help_text="any of, comma-separated"
    )
    category = ChoiceList(
        field_name="category", lookup_expr="in", choices=Category.choices, help_text="comma-separated"
    )
    region = CommaList(field_name="region", lookup_expr="in", help_text="exact region codes, comma-separated")
    mine = django_filters.BooleanFilter(method="filter_mine", label="Only my organisation's tenders")

    class Meta:
        model = Tender
        fields = ("status", "method", "category", "region")

    def filter_mine(self, queryset: QuerySet[Tender], name: str, value: bool) -> QuerySet[Tender]:
        if value and self.user is not None:
            return queryset.filter(owned_tenders_q(self.user))
        return queryset


class NoticeFilterSet(FilterSet):
    kind = ChoiceList(
        field_name="kind", lookup_expr="in", choices=NoticeKind.choices, help_text="any of, comma-separated"
    )
    tender = IdFilter(field_name="tender_id", help_text="the tender's id")

    class Meta:
        model = Notice
        fields = ("kind", "tender")

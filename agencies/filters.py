"""The agency directory's and the credit lists' filters, shared by the API and the pages
(``core.filtering``). ``region`` is the exact region code (several separated by commas), as in
the tender listing and the public search listings."""

from __future__ import annotations

import builtins

import django_filters
from django.db.models import Q, QuerySet

from agencies.choices import CreditList
from agencies.credit import in_force_q
from agencies.models import Agency, CreditListEntry
from core import clock
from core.filtering import ChoiceList, CommaList, FilterSet
from market.choices import Category


class AgencyFilterSet(FilterSet):
    """Applied to the directory after ``with_credit`` annotated each agency's list status."""

    category = ChoiceList(choices=Category.choices, method="filter_category", help_text="any of, comma-separated")
    region = CommaList(field_name="organisation__region", lookup_expr="in", help_text="exact region codes")
    q = django_filters.CharFilter(method="filter_q", help_text="name contains, or the exact USCC")
    list = django_filters.ChoiceFilter(choices=CreditList.choices, method="filter_list", help_text="on this list now")

    class Meta:
        model = Agency
        fields: tuple[str, ...] = ()

    def filter_category(self, queryset: QuerySet[Agency], name: str, value: builtins.list[str]) -> QuerySet[Agency]:
        # JSON containment differs between SQLite and PostgreSQL; a quoted-token match works on both.
        any_of = Q(pk__in=[])
        for category in value:
            any_of |= Q(service_categories__icontains=f'"{category}"')
        return queryset.filter(any_of)

    def filter_q(self, queryset: QuerySet[Agency], name: str, value: str) -> QuerySet[Agency]:
        value = value.strip()
        return queryset.filter(Q(organisation__name__icontains=value) | Q(organisation__uscc=value.upper()))

    def filter_list(self, queryset: QuerySet[Agency], name: str, value: str) -> QuerySet[Agency]:
        return queryset.filter(**{f"on_{value}_list": True})  # annotated by agencies.credit.with_credit


class CreditListEntryFilterSet(FilterSet):
    """Decided entries (the selector's rule), by list and by scope: ``current`` (in force now, the
    default) or ``history`` (every decided entry, expired and revoked included)."""

    list = django_filters.ChoiceFilter(field_name="list_kind", choices=CreditList.choices)
    scope = django_filters.ChoiceFilter(
        choices=(("current", "current"), ("history", "history")), method="filter_scope", help_text="current (default)"
    )

    class Meta:
        model = CreditListEntry
        fields: tuple[str, ...] = ()

    def filter_scope(self, queryset: QuerySet[CreditListEntry], name: str, value: str) -> QuerySet[CreditListEntry]:
        return queryset.filter(in_force_q(clock.now())) if value == "current" else queryset

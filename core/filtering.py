"""Shared listings: one django-filter FilterSet per listable model, applied by the selectors after
the visibility rule, for the API and the pages alike.

The API views name the same FilterSet (``filterset_class``) with :class:`SelectorFilterBackend`,
which only documents its parameters in the OpenAPI schema: the selector already applied them, so
a page's query string is also a valid API query and means the same there.
"""

from __future__ import annotations

from typing import Any, TypeVar

import django_filters
from django import forms
from django.db.models import Model, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from core.errors import ApplicationError

M = TypeVar("M", bound=Model)


class CommaList(django_filters.BaseInFilter, django_filters.CharFilter):
    """``?name=a,b`` (or the parameter repeated): any of the values, each matched exactly. The
    public search listings read keyword filters the same way."""


class ChoiceList(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """Like :class:`CommaList`, each value one of the filter's choices (400 otherwise)."""


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """``?tender=12``: an object's id, a whole number the database can hold (400 otherwise). A plain
    NumberFilter takes any decimal, and one beyond 64 bits failed in the database (found by the fuzzer)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """A FilterSet that knows who is asking (for filters such as ``mine``)."""

    def __init__(self, data: Any = None, queryset: Any = None, *, user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        request = kwargs.get("request")
        self.user = user if user is not None else getattr(request, "user", None)


def apply_filters(
    filterset_class: type[FilterSet], params: Any, queryset: QuerySet[M], *, user: Any = None
) -> QuerySet[M]:
    """``queryset`` narrowed by the listing's parameters; 400 ``invalid`` naming each bad filter."""
    if not params:
        return queryset
    filterset = filterset_class(params, queryset, user=user)
    if not filterset.is_valid():
        raise ApplicationError(
            "invalid",
            "Some filters are not valid for this listing.",
            "筛选条件无效。",
            fields={name: [str(m) for m in messages] for name, messages in filterset.errors.items()},
        )
    return filterset.qs  # type: ignore[no-any-return]


class SelectorFilterBackend(DjangoFilterBackend):
    """Documents a view's FilterSet in the schema; filtering itself is the selector's."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        return queryset

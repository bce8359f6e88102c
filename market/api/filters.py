import django_filters

from market.access import owned_tenders_q
from market.choices import Category, Method, NoticeKind, TenderStatus
from market.models import Notice, Tender


class TenderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TenderStatus.choices)
    method = django_filters.ChoiceFilter(choices=Method.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    region = django_filters.CharFilter()
    mine = django_filters.BooleanFilter(method="filter_mine", label="Only my organisation's tenders")

    class Meta:
        model = Tender
        fields = ("status", "method", "category", "region")

    def filter_mine(self, queryset, name, value):  # type: ignore[no-untyped-def]
        user = self.request.user if self.request else None
        if value and user is not None:
            return queryset.filter(owned_tenders_q(user))
        return queryset


class NoticeFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=NoticeKind.choices)

    class Meta:
        model = Notice
        fields = ("kind", "tender")

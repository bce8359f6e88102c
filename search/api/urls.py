from django.urls import path

from search.api import views as v

urlpatterns = [
    path("search/tenders/", v.TenderSearch.as_view(), name="search-tenders"),
    path("search/notices/", v.NoticeSearch.as_view(), name="search-notices"),
    path("search/agencies/", v.AgencySearch.as_view(), name="search-agencies"),
    path("search/credit-lists/", v.CreditListSearch.as_view(), name="search-credit-lists"),
    path("search/health/", v.SearchHealth.as_view(), name="search-health"),
]

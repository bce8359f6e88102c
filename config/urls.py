from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import throttled_login
from agencies import views as agency_views
from core.api import api_not_found
from core.faults import server_error
from core.health import healthz
from market import views as market_views

urlpatterns = [
    path("", market_views.home, name="home"),
    path("tenders/<int:pk>/", market_views.tender_page, name="tender-page"),
    path("agencies/", agency_views.directory_page, name="agency-directory-page"),
    path("credit-lists/", agency_views.credit_lists_page, name="credit-lists-page"),
    path("accounts/login/", throttled_login(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The admin's own login, throttled like every login door (before admin.site.urls, which would answer first).
    path("admin/login/", throttled_login(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/", include("accounts.api.urls")),
    path("api/", include("market.api.urls")),
    path("api/", include("core.api_urls")),
    path("api/", include("agencies.api.urls")),
    path("api/", include("bidding.api.urls")),
    path("api/", include("search.api.urls")),
    path("api/", include("procurement.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the Content-Security-Policy needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    # Last: an /api/ address nothing above matches answers the API's JSON 404. Only addresses ending in a
    # slash, so CommonMiddleware still redirects /api/tenders to /api/tenders/.
    re_path(r"^api/(?:.*/)?$", api_not_found, name="api-not-found"),
]

# A database outage is a 503 (JSON on the API), anything else unexpected a 500 (JSON on the API): core.faults.
handler500 = server_error

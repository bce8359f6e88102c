from django.urls import path

from accounts.api import views as v

urlpatterns = [
    path("auth/token/", v.TokenCreate.as_view(), name="api-token"),
    path("auth/logout/", v.TokenLogout.as_view(), name="api-logout"),
    path("auth/logout-all/", v.TokenLogoutAll.as_view(), name="api-logout-all"),
]

from django.urls import path

from core.api import AuditList, AuditVerify

urlpatterns = [
    path("audit/", AuditList.as_view(), name="audit-list"),
    path("audit/verify/", AuditVerify.as_view(), name="audit-verify"),
]

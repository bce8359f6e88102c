"""The admin shows agencies, certificates and credit; decisions go through the services (audited).
Only the configurable credit table and policy are edited here, and each edit is audited."""

from django.contrib import admin

from agencies.models import (
    Agency,
    Certificate,
    CreditEvent,
    CreditEventKind,
    CreditListEntry,
    CreditPolicy,
    Qualification,
    ServiceEvaluation,
)
from core.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(CreditEventKind)
class CreditEventKindAdmin(AuditedAdmin):
    list_display = ("code", "name_zh", "name", "points", "validity_days", "serious", "active")
    list_filter = ("serious", "active")

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # recorded events refer to their kind; deactivate it instead


@admin.register(CreditPolicy)
class CreditPolicyAdmin(AuditedAdmin):
    list_display = ("base_score", "red_min_score", "red_min_evaluations", "red_lookback_days", "red_duration_days")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not CreditPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Agency)
class AgencyAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "status", "applied_at", "admitted_at")
    list_filter = ("status",)
    search_fields = ("organisation__name", "organisation__uscc")


@admin.register(Qualification)
class QualificationAdmin(ReadOnlyAdmin):
    list_display = ("agency", "category", "kind", "grade", "number", "valid_until", "withdrawn_at")
    list_filter = ("category",)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("serial", "organisation", "holder", "purpose", "not_after", "revoked_at")
    list_filter = ("purpose",)


@admin.register(CreditEvent)
class CreditEventAdmin(ReadOnlyAdmin):
    list_display = ("agency", "kind", "points", "occurred_at", "expires_at", "annulled_at")
    list_filter = ("kind",)


@admin.register(CreditListEntry)
class CreditListEntryAdmin(ReadOnlyAdmin):
    list_display = ("agency", "list_kind", "status", "document_number", "starts_at", "ends_at", "revoked_at")
    list_filter = ("list_kind", "status")


@admin.register(ServiceEvaluation)
class ServiceEvaluationAdmin(ReadOnlyAdmin):
    list_display = ("tender", "agency", "status", "submitted_at")
    list_filter = ("status",)

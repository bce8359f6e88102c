from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.forms.models import model_to_dict

from core.audit import audit_record
from market.models import Notice, Objection, Organisation, RuleProfile, Tender, TenderAttachment, User


class AuditedAdmin(admin.ModelAdmin):
    """Operators' writes in the admin are user writes too: each one appends an audit entry in the
    same transaction as the change."""

    audit_exclude: tuple[str, ...] = ()

    def _snapshot(self, obj):  # type: ignore[no-untyped-def]
        # Foreign keys come as their ids; many-to-many lists (groups, permissions) are left out.
        data = model_to_dict(obj, exclude=self.audit_exclude)
        return {k: v for k, v in data.items() if not isinstance(v, list)}

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            before = self._snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=f"admin.{'change' if change else 'add'}",
                obj=obj,
                before=before,
                after=self._snapshot(obj),
            )

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            before = self._snapshot(obj)
            audit_record(actor=request.user, action="admin.delete", obj=obj, before=before)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "uscc", "region")
    list_filter = ("kind",)
    search_fields = ("name", "uscc")


@admin.register(User)
class AgoraUserAdmin(AuditedAdmin, UserAdmin):
    # The password hash never goes into the trail; that it changed shows as a "change" entry.
    audit_exclude = ("password",)
    list_display = ("username", "organisation", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Agora", {"fields": ("organisation", "role")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Agora", {"fields": ("organisation", "role")}))


@admin.register(RuleProfile)
class RuleProfileAdmin(AuditedAdmin):
    list_display = ("name", "title", "open_tender_min_notice", "supermarket_min_notice", "lottery_allowed")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lifecycle state changes go through the services (audited); the admin only shows them."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Tender)
class TenderAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "purchaser", "method", "status", "bid_deadline")
    list_filter = ("status", "method", "category", "profile")
    search_fields = ("reference", "title")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("published_at", "kind", "title", "tender")
    list_filter = ("kind",)


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("tender", "kind", "organisation", "status", "raised_at")


@admin.register(TenderAttachment)
class TenderAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "tender", "size", "uploaded_at")

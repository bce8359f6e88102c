from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from market.models import Notice, Objection, Organisation, RuleProfile, Tender, TenderAttachment, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "uscc", "region")
    list_filter = ("kind",)
    search_fields = ("name", "uscc")


@admin.register(User)
class AgoraUserAdmin(UserAdmin):
    list_display = ("username", "organisation", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Agora", {"fields": ("organisation", "role")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Agora", {"fields": ("organisation", "role")}))


@admin.register(RuleProfile)
class RuleProfileAdmin(admin.ModelAdmin):
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

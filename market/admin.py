from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from core.admin import AuditedAdmin, ReadOnlyAdmin
from market.models import Notice, Objection, Organisation, RuleProfile, Tender, TenderAttachment, User


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

from django.contrib import admin

from core.admin import AuditedAdmin, ReadOnlyAdmin
from market.models import Notice, Objection, RuleProfile, Tender, TenderAttachment


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

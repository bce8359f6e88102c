from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Organisation, User
from core.admin import AuditedAdmin


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

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
# UserAdmin is generic only in the stubs; subscripting it fails at runtime.
class AgoraUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[type-arg]
    # The password hash never goes into the trail; that it changed shows as a "change" entry.
    audit_exclude = ("password",)
    list_display = ("username", "organisation", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    # The stubs type ModelAdmin.fieldsets as optional; UserAdmin always sets it.
    fieldsets = (*UserAdmin.fieldsets, ("Agora", {"fields": ("organisation", "role")}))  # type: ignore[misc]
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Agora", {"fields": ("organisation", "role")}))

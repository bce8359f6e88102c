from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from knox.models import AuthToken  # type: ignore[import-untyped]

from accounts.choices import OrganisationKind
from accounts.models import Organisation, User
from core.admin import AuditedAdmin

# What a trading centre's operator may make and edit here; agencies come from their registration,
# the centre itself from `manage.py centre_init`.
OPERATOR_EDITS_KINDS = (OrganisationKind.PURCHASER, OrganisationKind.SUPERVISORY_DEPARTMENT)
# Who may do what in the admin is a superuser's decision, never an operator's.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "uscc", "region")
    list_filter = ("kind",)
    search_fields = ("name", "uscc")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not request.user.is_superuser and obj.kind not in OPERATOR_EDITS_KINDS:
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "kind" and not request.user.is_superuser:
            kwargs["choices"] = [(k.value, k.label) for k in OPERATOR_EDITS_KINDS]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(User)
# UserAdmin is generic only in the stubs; subscripting it fails at runtime.
class AgoraUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[misc,type-arg]
    # The password hash never goes into the trail; that it changed shows as a "change" entry.
    audit_exclude = ("password",)
    list_display = ("username", "organisation", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    # The stubs type ModelAdmin.fieldsets as optional; UserAdmin always sets it.
    fieldsets = (*UserAdmin.fieldsets, ("Agora", {"fields": ("organisation", "role")}))  # type: ignore[misc]
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Agora", {"fields": ("organisation", "role")}))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


# No admin page lists API tokens, not even their digests: knox registers one; it is taken away. A token is shown
# once, to whoever logs in for it (accounts/tokens.py), and revoked by its holder.
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)

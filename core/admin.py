from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms.models import model_to_dict
from django.http import HttpRequest

from core.audit import audit_chain, audit_record
from core.models import AuditEntry


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Operators' writes in the admin are user writes too: each one appends an audit entry in the
    same transaction as the change."""

    audit_exclude: tuple[str, ...] = ()

    def _snapshot(self, obj: models.Model) -> dict[str, Any]:
        # Foreign keys come as their ids; many-to-many lists (groups, permissions) are left out.
        data = model_to_dict(obj, exclude=self.audit_exclude)
        return {k: v for k, v in data.items() if not isinstance(v, list)}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
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

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            before = self._snapshot(obj)
            audit_record(actor=request.user, action="admin.delete", obj=obj, before=before)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lifecycle state changes go through the services (audited); the admin only shows them."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The trail is append-only: the admin shows it, nobody edits it."""

    list_display = ("seq", "created", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # Entries committed but not yet chained get their seq first (a short step of its own).
        audit_chain()
        return super().changelist_view(request, extra_context)

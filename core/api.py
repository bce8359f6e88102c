"""Audit trail API for supervisors and operators: read the entries, verify the chain."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.audit import audit_verify, chained_entries
from core.errors import NotFound
from core.models import AuditEntry
from core.pagination import NewestFirstCursorPagination
from core.permissions import Action, HasAction


class AuditEntryOutput(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = (
            "seq",
            "created",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "prev_hash",
            "hash",
        )


class AuditPagination(NewestFirstCursorPagination):
    ordering = ("-seq",)


class AuditList(generics.ListAPIView[AuditEntry]):
    """The audit trail, newest first; filter with ?object_type=market.tender&object_id=12&action=…
    Entries committed but not yet chained are chained first; entries of transactions still running
    are not shown."""

    permission_classes = [HasAction.for_(Action.AUDIT_READ)]
    serializer_class = AuditEntryOutput
    pagination_class = AuditPagination
    filterset_fields = ("object_type", "object_id", "action")

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no database work
            return AuditEntry.objects.none()
        return chained_entries()


class AuditVerifyOutput(serializers.Serializer[Any]):
    ok = serializers.BooleanField(help_text="True when every entry links to the one before it.")
    checked = serializers.IntegerField(help_text="How many entries were walked.")
    broken_seq = serializers.IntegerField(allow_null=True, help_text="The first entry that does not fit, if any.")
    reason = serializers.CharField(allow_blank=True, help_text="Why it does not fit; empty when ok.")


class AuditVerify(APIView):
    permission_classes = [HasAction.for_(Action.AUDIT_READ)]

    @extend_schema(responses=AuditVerifyOutput)
    def get(self, request: Request) -> Response:
        result = audit_verify()
        return Response(AuditVerifyOutput(result).data)


@csrf_exempt  # it changes nothing; a POST to an unknown address is a 404, not a CSRF refusal
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any /api/ address no route matches: the API's JSON 404 rather than the site's HTML page."""
    return JsonResponse(NotFound().as_dict(), status=404, json_dumps_params={"ensure_ascii": False})

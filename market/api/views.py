"""Thin API views: check the role, validate input, call one service, render the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actor import actor
from core.errors import NotFound
from core.filtering import SelectorFilterBackend
from core.inputs import valid_input as _valid
from core.permissions import MATRIX, Action, HasAction, can
from market import selectors
from market.api import serializers as s
from market.filters import NoticeFilterSet, TenderFilterSet
from market.models import Notice, RuleProfile
from market.services import attachments, tenders


class TenderListCreate(generics.ListAPIView[Any]):
    """Tenders the caller may see (the public sees published ones). POST: a purchaser creates a draft."""

    serializer_class = s.TenderListOutput
    filter_backends = [SelectorFilterBackend]
    filterset_class = TenderFilterSet

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [HasAction.for_(Action.TENDER_CREATE)()]
        return [AllowAny()]

    def get_queryset(self) -> Any:
        return selectors.tender_list(user=self.request.user, params=self.request.query_params)

    @extend_schema(request=s.TenderInput, responses={201: s.TenderOutput})
    def post(self, request: Request) -> Response:
        data = _valid(s.TenderInput, request.data)
        profile = data.pop("profile", None)
        tender = tenders.tender_create(actor=actor(request), data=data, profile_name=profile)
        return Response(s.TenderOutput(tender).data, status=201)


class TenderDetail(APIView):
    def get_permissions(self) -> list[Any]:
        if self.request.method == "PATCH":
            return [HasAction.for_(Action.TENDER_EDIT)()]
        return [AllowAny()]

    @extend_schema(responses=s.TenderOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.TenderOutput(selectors.tender_get(user=request.user, tender_id=pk)).data)

    @extend_schema(request=s.TenderInput, responses=s.TenderOutput)
    def patch(self, request: Request, pk: int) -> Response:
        data = _valid(s.TenderInput, request.data, partial=True)
        data.pop("profile", None)
        tender = tenders.tender_update_draft(actor=actor(request), tender_id=pk, data=data)
        return Response(s.TenderOutput(tender).data)


class TenderActionView(APIView):
    """POST /api/tenders/{id}/<action>/: one service call."""

    action: ClassVar[Action]
    input_class: ClassVar[type[serializers.Serializer[Any]]] = s.EmptyInput
    service: ClassVar[Callable[..., Any]]

    def get_permissions(self) -> list[Any]:
        return [HasAction.for_(self.action)()]

    def run(self, request: Request, pk: int) -> Response:
        data = _valid(self.input_class, request.data)
        tender = type(self).service(actor=request.user, tender_id=pk, **data)
        return Response(s.TenderOutput(tender).data)


def action_view(
    name: str,
    action: Action,
    service: Callable[..., Any],
    input_class: type[serializers.Serializer[Any]] = s.EmptyInput,
) -> type[TenderActionView]:
    @extend_schema(
        request=input_class, responses=s.TenderOutput, operation_id=f"tender_{name}", description=service.__doc__ or ""
    )
    def post(self: TenderActionView, request: Request, pk: int) -> Response:
        return self.run(request, pk)

    return type(
        name,
        (TenderActionView,),
        {"action": action, "service": staticmethod(service), "input_class": input_class, "post": post},
    )


TenderSubmit = action_view("submit", Action.TENDER_SUBMIT, tenders.tender_submit)
TenderReturn = action_view("return", Action.TENDER_RETURN, tenders.tender_return, s.ReasonInput)
TenderResume = action_view("resume", Action.TENDER_RESUME, tenders.tender_resume, s.ResumeInput)


class TenderAttachments(APIView):
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [HasAction.for_(Action.TENDER_EDIT)]

    @extend_schema(request=s.AttachmentInput, responses={201: s.AttachmentOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(s.AttachmentInput, request.data)
        upload = data["file"]
        attachment = attachments.attachment_add(
            actor=actor(request),
            tender_id=pk,
            name=data.get("name") or upload.name,
            stream=upload,
            content_type=upload.content_type or "",
        )
        return Response(s.AttachmentOutput(attachment).data, status=201)


class TenderAttachmentDownload(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int, attachment_id: int) -> FileResponse:
        tender = selectors.tender_get(user=request.user, tender_id=pk)
        attachment = tender.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise NotFound("No such attachment.", "附件不存在。")
        return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)


class TenderNotices(generics.ListAPIView[Any]):
    permission_classes = [AllowAny]
    serializer_class = s.NoticeOutput
    queryset = Notice.objects.none()  # for the schema; the real one comes from get_queryset

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        tender = selectors.tender_get(user=self.request.user, tender_id=self.kwargs["pk"])
        return selectors.notice_list(tender_id=tender.pk)


class NoticeList(generics.ListAPIView[Any]):
    """Every published notice, newest first. Public."""

    permission_classes = [AllowAny]
    serializer_class = s.NoticeOutput
    filter_backends = [SelectorFilterBackend]
    filterset_class = NoticeFilterSet

    def get_queryset(self) -> Any:
        return selectors.notice_list(params=self.request.query_params)


class NoticeDetail(generics.RetrieveAPIView[Any]):
    permission_classes = [AllowAny]
    serializer_class = s.NoticeOutput

    def get_queryset(self) -> Any:
        return selectors.notice_list()


class RuleProfileList(generics.ListAPIView[Any]):
    """The jurisdiction rule profiles in force (public: the rules are public)."""

    permission_classes = [AllowAny]
    serializer_class = s.RuleProfileOutput
    pagination_class = None
    queryset = RuleProfile.objects.order_by("name")


class Me(APIView):
    @extend_schema(responses=s.MeOutput)
    def get(self, request: Request) -> Response:
        """Who am I: role, organisation and the actions my role may take."""
        user = actor(request)
        org = user.organisation
        me = {
            "username": user.username,
            "role": user.role,
            "organisation": {"id": org.pk, "name": org.name, "kind": org.kind, "uscc": org.uscc} if org else None,
            "actions": sorted(a.value for a in MATRIX if can(user, a)),
        }
        return Response(s.MeOutput(me).data)

"""Thin API views for agencies, certificates and credit: check the role, validate, call one service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttling
from accounts.actor import actor
from agencies import selectors
from agencies.api import serializers as s
from agencies.ca import platform_ca_certificate_pem
from agencies.choices import DECIDED_LIST_STATUSES
from agencies.filters import AgencyFilterSet, CreditListEntryFilterSet
from agencies.models import Agency, Certificate, CreditEvent, CreditEventKind, ServiceEvaluation
from agencies.services import admission, certificates, credit, lists, registration
from core.filtering import SelectorFilterBackend
from core.inputs import valid_input
from core.permissions import Action, HasAction, require

PEM = "application/x-pem-file"


# --- public -------------------------------------------------------------------------------------------


class Register(APIView):
    """Anyone: register an agency and its first user; the application waits for review. Throttled: every
    attempt counts against the USCC it names and the caller's address (429 once the window's limit is used)."""

    permission_classes = [AllowAny]

    @extend_schema(request=s.RegisterInput, responses={201: s.AgencyOutput})
    def post(self, request: Request) -> Response:
        door = throttling.door("registration")
        uscc = str(request.data.get("uscc", "") if hasattr(request.data, "get") else "")[:40]
        address = throttling.client_address(request._request)
        throttling.throttle_check(door, account=uscc, address=address)
        throttling.throttle_fail(door, account=uscc, address=address)
        agency = registration.agency_register(**valid_input(s.RegisterInput, request.data))
        return Response(s.AgencyOutput(selectors.agency_for_staff(agency_id=agency.pk)).data, status=201)


class Directory(generics.ListAPIView[Any]):
    """The public agency directory: name, USCC, categories, region, credit score, list status."""

    permission_classes = [AllowAny]
    serializer_class = s.DirectoryOutput

    filter_backends = [SelectorFilterBackend]
    filterset_class = AgencyFilterSet

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Agency.objects.none()
        return selectors.agency_directory(params=self.request.query_params)


class DirectoryDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.DirectoryOutput)
    def get(self, request: Request, uscc: str) -> Response:
        return Response(s.DirectoryOutput(selectors.agency_public(uscc=uscc)).data)


class AgencyCertificates(generics.ListAPIView[Any]):
    """Every certificate issued to an agency, for anyone verifying its signatures."""

    permission_classes = [AllowAny]
    serializer_class = s.CertificateOutput

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Certificate.objects.none()
        return selectors.certificates_of_agency(uscc=self.kwargs["uscc"])


class CertificateDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.CertificateOutput)
    def get(self, request: Request, serial: str) -> Response:
        return Response(s.CertificateOutput(selectors.certificate_public(serial=serial)).data)


class CaCertificate(APIView):
    """The platform CA's certificate (PEM): the trust anchor for every signature check."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, PEM): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(platform_ca_certificate_pem(), content_type=PEM)


class CaRevocationList(APIView):
    """The CA's certificate revocation list (PEM), signed afresh on each request."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, PEM): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(selectors.revocation_list_pem(), content_type=PEM)


class PublicCreditList(generics.ListAPIView[Any]):
    """Decided red- and black-list entries: ``scope=current`` (in force now, the default) or
    ``scope=history`` (every decided entry, expired and revoked included)."""

    permission_classes = [AllowAny]
    serializer_class = s.PublicListEntryOutput

    filter_backends = [SelectorFilterBackend]
    filterset_class = CreditListEntryFilterSet

    def get_queryset(self) -> Any:
        return selectors.list_entries_public(params=self.request.query_params)


class EventKinds(generics.ListAPIView[Any]):
    """The credit table: kinds of event and their points (public: the rules are public)."""

    permission_classes = [AllowAny]
    serializer_class = s.EventKindOutput
    pagination_class = None
    queryset = CreditEventKind.objects.filter(active=True)


# --- the agency itself ------------------------------------------------------------------------------------


class MyAgency(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_MANAGE_OWN)]

    @extend_schema(responses=s.AgencyOutput)
    def get(self, request: Request) -> Response:
        return Response(s.AgencyOutput(selectors.agency_own(user=actor(request))).data)

    @extend_schema(request=s.ProfileInput, responses=s.AgencyOutput)
    def patch(self, request: Request) -> Response:
        registration.agency_update_profile(actor=actor(request), data=valid_input(s.ProfileInput, request.data, True))
        return Response(s.AgencyOutput(selectors.agency_own(user=actor(request))).data)


class MyReapply(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_MANAGE_OWN)]

    @extend_schema(request=s.ReapplyInput, responses=s.AgencyOutput)
    def post(self, request: Request) -> Response:
        registration.agency_reapply(actor=actor(request), **valid_input(s.ReapplyInput, request.data))
        return Response(s.AgencyOutput(selectors.agency_own(user=actor(request))).data)


class MyQualifications(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_MANAGE_OWN)]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=s.QualificationOutput(many=True))
    def get(self, request: Request) -> Response:
        agency = registration.own_agency(actor(request))
        return Response(s.QualificationOutput(agency.qualifications.all(), many=True).data)

    @extend_schema(request=s.QualificationInput, responses={201: s.QualificationOutput})
    def post(self, request: Request) -> Response:
        data = valid_input(s.QualificationInput, request.data)
        upload = data.pop("file", None)
        q = registration.qualification_add(
            actor=actor(request), data=data, stream=upload, file_name=upload.name if upload else ""
        )
        return Response(s.QualificationOutput(q).data, status=201)


class MyQualificationWithdraw(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_MANAGE_OWN)]

    @extend_schema(request=None, responses=s.QualificationOutput)
    def post(self, request: Request, pk: int) -> Response:
        q = registration.qualification_withdraw(actor=actor(request), qualification_id=pk)
        return Response(s.QualificationOutput(q).data)


class MyCertificates(APIView):
    """An admitted agency's signing certificates; POST a CSR to get a new one."""

    permission_classes = [HasAction.for_(Action.CERTIFICATE_REQUEST)]

    @extend_schema(responses=s.CertificateOutput(many=True))
    def get(self, request: Request) -> Response:
        uscc = registration.own_agency(actor(request)).organisation.uscc
        return Response(s.CertificateOutput(selectors.certificates_of_agency(uscc=uscc), many=True).data)

    @extend_schema(request=s.SigningCsrInput, responses={201: s.CertificateOutput})
    def post(self, request: Request) -> Response:
        cert = certificates.certificate_request(actor=actor(request), **valid_input(s.SigningCsrInput, request.data))
        return Response(s.CertificateOutput(cert).data, status=201)


class MyCredit(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_MANAGE_OWN)]

    @extend_schema(responses=s.CreditSummaryOutput)
    def get(self, request: Request) -> Response:
        agency = selectors.agency_own(user=actor(request))
        events = selectors.credit_events(user=actor(request))
        return Response(s.credit_summary(agency, events, agency.list_entries.filter(status__in=DECIDED_LIST_STATUSES)))


class KeyHolderKeys(APIView):
    """Purchasers, supervisors and trading-centre users: the keys opening-key shares are encrypted to."""

    permission_classes = [HasAction.for_(Action.KEY_HOLDER_REGISTER)]

    @extend_schema(responses=s.CertificateOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.CertificateOutput(selectors.certificates_of_holder(user=actor(request)), many=True).data)

    @extend_schema(request=s.CsrInput, responses={201: s.CertificateOutput})
    def post(self, request: Request) -> Response:
        cert = certificates.key_holder_register(actor=actor(request), **valid_input(s.CsrInput, request.data))
        return Response(s.CertificateOutput(cert).data, status=201)


class CertificateRevoke(APIView):
    """The certificate's owner, or an operator, revokes it with a reason."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.RevokeInput, responses=s.CertificateOutput)
    def post(self, request: Request, serial: str) -> Response:
        data = valid_input(s.RevokeInput, request.data)
        cert = certificates.certificate_revoke(actor=actor(request), serial=serial.lower(), **data)
        return Response(s.CertificateOutput(cert).data)


# --- staff ----------------------------------------------------------------------------------------------


class StaffAgencies(generics.ListAPIView[Any]):
    """Operators and supervisors: every agency, any status (``?status=applied`` for the review queue)."""

    permission_classes = [HasAction.for_(Action.AGENCY_VIEW_ALL)]
    serializer_class = s.AgencyOutput

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Agency.objects.none()
        return selectors.agency_list_for_staff(status=self.request.query_params.get("status"))


class StaffAgencyDetail(APIView):
    permission_classes = [HasAction.for_(Action.AGENCY_VIEW_ALL)]

    @extend_schema(responses=s.AgencyOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.AgencyOutput(selectors.agency_for_staff(agency_id=pk)).data)


class ActionView(APIView):
    """POST …/{id}/<action>/: one service call on one object."""

    action: ClassVar[Action]
    input_class: ClassVar[type[serializers.Serializer[Any]]]
    service: ClassVar[Callable[..., Any]]
    id_name: ClassVar[str]
    render: ClassVar[Callable[[Any], Any]]

    def get_permissions(self) -> list[Any]:
        return [HasAction.for_(self.action)()]

    def run(self, request: Request, pk: int) -> Response:
        data = valid_input(self.input_class, request.data)
        result = type(self).service(actor=request.user, **{self.id_name: pk}, **data)
        return Response(type(self).render(result))


def action_view(
    name: str,
    action: Action,
    service: Callable[..., Any],
    input_class: type[serializers.Serializer[Any]],
    id_name: str,
    render: Callable[[Any], Any],
    output: type[serializers.Serializer[Any]],
) -> type[ActionView]:
    @extend_schema(request=input_class, responses=output, operation_id=name, description=service.__doc__ or "")
    def post(self: ActionView, request: Request, pk: int) -> Response:
        return self.run(request, pk)

    return type(
        name,
        (ActionView,),
        {
            "action": action,
            "service": staticmethod(service),
            "input_class": input_class,
            "id_name": id_name,
            "render": staticmethod(render),
            "post": post,
        },
    )


def _agency_out(agency: Any) -> Any:
    return s.AgencyOutput(selectors.agency_for_staff(agency_id=agency.pk)).data


DECISION_VIEWS = {
    name: action_view(
        f"agency_{name}", Action.AGENCY_REVIEW, service, s.AgencyReasonInput, "agency_id", _agency_out, s.AgencyOutput
    )
    for name, service in admission.DECISIONS.items()
}


class CreditEvents(generics.ListCreateAPIView[Any]):
    """GET: supervisors and operators see every event (``?agency=``), an agency its own.
    POST: a supervisor records an event."""

    serializer_class = s.CreditEventOutput

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [HasAction.for_(Action.CREDIT_EVENT_RECORD)()]
        return [IsAuthenticated()]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CreditEvent.objects.none()
        agency = self.request.query_params.get("agency")
        return selectors.credit_events(
            user=actor(self.request), agency_id=int(agency) if agency and agency.isdigit() else None
        )

    @extend_schema(request=s.CreditEventInput, responses={201: s.CreditEventOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(s.CreditEventInput, request.data)
        event = credit.credit_event_record(actor=actor(request), agency_id=data.pop("agency"), **data)
        return Response(s.CreditEventOutput(event).data, status=201)


CreditEventAnnul = action_view(
    "credit_event_annul",
    Action.CREDIT_EVENT_RECORD,
    credit.credit_event_annul,
    s.AgencyReasonInput,
    "event_id",
    lambda e: s.CreditEventOutput(e).data,
    s.CreditEventOutput,
)


class ListEntries(generics.ListCreateAPIView[Any]):
    """Staff: every entry including proposals (``?status=proposed&list=black``). POST: a
    supervisor proposes an entry."""

    serializer_class = s.ListEntryOutput

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [HasAction.for_(Action.CREDIT_LIST_PROPOSE)()]
        return [HasAction.for_(Action.CREDIT_VIEW_ALL)()]

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return selectors.list_entries_for_staff(status=params.get("status"), list_kind=params.get("list"))

    @extend_schema(request=s.ProposeInput, responses={201: s.ListEntryOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(s.ProposeInput, request.data)
        entry = lists.list_entry_propose(
            actor=actor(request), agency_id=data["agency"], list_kind=data["list"], reason=data["reason"]
        )
        return Response(s.ListEntryOutput(entry).data, status=201)


def _entry_out(entry: Any) -> Any:
    return s.ListEntryOutput(entry).data


ListEntryDecide = action_view(
    "list_entry_decide",
    Action.CREDIT_LIST_DECIDE,
    lists.list_entry_decide,
    s.DecideInput,
    "entry_id",
    _entry_out,
    s.ListEntryOutput,
)
ListEntryDismiss = action_view(
    "list_entry_dismiss",
    Action.CREDIT_LIST_DECIDE,
    lists.list_entry_dismiss,
    s.AgencyReasonInput,
    "entry_id",
    _entry_out,
    s.ListEntryOutput,
)
ListEntryRevoke = action_view(
    "list_entry_revoke",
    Action.CREDIT_LIST_DECIDE,
    lists.list_entry_revoke,
    s.AgencyReasonInput,
    "entry_id",
    _entry_out,
    s.ListEntryOutput,
)


class Evaluations(generics.ListCreateAPIView[Any]):
    """GET: the evaluations the caller may see (``?status=pending`` is the moderation queue).
    POST: the purchaser rates the agency of its completed tender."""

    serializer_class = s.EvaluationOutput

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [HasAction.for_(Action.EVALUATION_SUBMIT)()]
        return [IsAuthenticated()]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ServiceEvaluation.objects.none()
        return selectors.evaluations(user=actor(self.request), status=self.request.query_params.get("status"))

    @extend_schema(request=s.EvaluationInput, responses={201: s.EvaluationOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(s.EvaluationInput, request.data)
        tender_id, comment = data.pop("tender"), data.pop("comment")
        evaluation = credit.evaluation_submit(actor=actor(request), tender_id=tender_id, scores=data, comment=comment)
        return Response(s.EvaluationOutput(evaluation).data, status=201)


def _moderate(approve: bool) -> Callable[..., Any]:
    def moderate(*, actor: Any, evaluation_id: int, reason: str = "") -> Any:
        require(actor, Action.EVALUATION_MODERATE)
        return credit.evaluation_moderate(actor=actor, evaluation_id=evaluation_id, approve=approve, note=reason)

    moderate.__doc__ = "Approve the evaluation: it becomes a credit event." if approve else "Reject it, with a reason."
    return moderate


EvaluationApprove = action_view(
    "evaluation_approve",
    Action.EVALUATION_MODERATE,
    _moderate(True),
    s.AgencyReasonInput,
    "evaluation_id",
    lambda e: s.EvaluationOutput(e).data,
    s.EvaluationOutput,
)
EvaluationReject = action_view(
    "evaluation_reject",
    Action.EVALUATION_MODERATE,
    _moderate(False),
    s.AgencyReasonInput,
    "evaluation_id",
    lambda e: s.EvaluationOutput(e).data,
    s.EvaluationOutput,
)

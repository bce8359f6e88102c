"""Thin API views for bids: check the role, validate, call one service."""

from __future__ import annotations

import base64
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actor import actor
from bidding.api.outputs import EvaluationViewOutput, OpeningRecordOutput
from bidding.models import Bid, OpeningRecord
from bidding.services import evaluation, submission
from core.errors import NotFound
from core.inputs import valid_input
from core.permissions import Action, HasAction, can, organisation_id_of
from market.selectors import tender_get


class BidInput(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="The sealed bid envelope made by the agency's client.")
    certificate = serializers.CharField(max_length=40, help_text="Serial of the signing certificate.")
    signature = serializers.CharField(help_text="Base64 signature over the submission payload.")
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    layer_public = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Under the bidder's-lock policy: hex of the public half of the agency's own layer key.",
    )


class WithdrawInput(serializers.Serializer[Any]):
    certificate = serializers.CharField(max_length=40, help_text="Serial of the signing certificate.")
    signature = serializers.CharField(help_text="Base64 signature over the withdrawal payload (docs/crypto.md).")


class BidOutput(serializers.ModelSerializer[Bid]):
    receipt = serializers.JSONField()
    receipt_signature = serializers.SerializerMethodField()

    class Meta:
        model = Bid
        fields = (
            "id",
            "tender",
            "status",
            "received_at",
            "ciphertext_digest",
            "ciphertext_size",
            "withdrawn_at",
            "layer_public",
            "layer_released_at",
            "receipt",
            "receipt_signature",
        )

    def get_receipt_signature(self, bid: Bid) -> str:
        return str(submission.receipt_of(bid)["signature"])


class TenderBids(APIView):
    """POST: an agency submits a sealed, signed bid (multipart); 201 with the signed receipt, or 200
    with the first receipt when a retry repeats an idempotency key (also accepted as the
    ``Idempotency-Key`` header). GET: the caller's own bids on this tender, newest first."""

    permission_classes = [HasAction.for_(Action.BID_SUBMIT)]
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": BidInput}, responses={201: BidOutput, 200: BidOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(BidInput, request.data)
        key = data["idempotency_key"] or request.headers.get("Idempotency-Key", "")
        bid, created = submission.bid_submit(
            actor=actor(request),
            tender_id=pk,
            stream=data["file"],
            certificate_serial=data["certificate"],
            signature=data["signature"],
            idempotency_key=key,
            layer_public=data["layer_public"],
        )
        return Response(BidOutput(bid).data, status=201 if created else 200)

    @extend_schema(responses=BidOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        bids = Bid.objects.filter(tender_id=pk, agency_id=organisation_id_of(request.user)).order_by(
            "-received_at", "-id"
        )
        return Response(BidOutput(bids, many=True).data)


class BidWithdraw(APIView):
    """POST: the agency withdraws its standing bid before the deadline, signed with its signing key."""

    permission_classes = [HasAction.for_(Action.BID_SUBMIT)]

    @extend_schema(request=WithdrawInput, responses=BidOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(WithdrawInput, request.data)
        bid = submission.bid_withdraw(
            actor=actor(request), bid_id=pk, certificate_serial=data["certificate"], signature=data["signature"]
        )
        return Response(BidOutput(bid).data)


class OpeningRecordView(APIView):
    """The published opening record with its signature (public once the bids are opened)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpeningRecordOutput)
    def get(self, request: Request, pk: int) -> Response:
        row = OpeningRecord.objects.filter(tender_id=pk).first()
        if row is None:
            raise NotFound("The bids of this tender are not opened yet.", "本项目尚未开标。")
        signed = {
            "record": row.record,
            "digest": row.digest,
            "signature": base64.b64encode(bytes(row.signature)).decode(),
        }
        return Response(OpeningRecordOutput(signed).data)


class EvaluationView(APIView):
    """GET (public once published): the tender's evaluation records, each signed by the platform
    and, when lots were drawn, with the seed and order anyone can recompute; during evaluation the
    bids still in the running (staff also see whose score sheets are in)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=EvaluationViewOutput)
    def get(self, request: Request, pk: int) -> Response:
        tender = tender_get(user=request.user, tender_id=pk)
        view = evaluation.evaluation_view(tender=tender, staff=can(request.user, Action.AUDIT_READ))
        return Response(EvaluationViewOutput(view).data)

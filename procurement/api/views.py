"""Thin API views of the workflow's steps: check the role, validate input, call one workflow
service, render the result. Reads stay with the app that owns the data."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actor import actor
from bidding.api import outputs as o
from bidding.api.views import BidOutput
from bidding.services import evaluation as bid_evaluation
from core.inputs import valid_input
from core.permissions import Action, HasAction
from market import selectors
from market.api import serializers as s
from market.api.views import action_view
from procurement.services import evaluation, objections, opening, tenders

TenderApprove = action_view("approve", Action.TENDER_APPROVE, tenders.tender_approve)
TenderCancel = action_view("cancel", Action.TENDER_CANCEL, tenders.tender_cancel, s.ReasonInput)
TenderAmend = action_view("amend", Action.TENDER_AMEND, tenders.tender_amend, s.AmendInput)
TenderSuspend = action_view("suspend", Action.TENDER_SUSPEND, tenders.tender_suspend, s.ReasonInput)
TenderFailEvaluation = action_view(
    "fail_evaluation", Action.TENDER_RECORD_RESULT, tenders.tender_fail_evaluation, s.ReasonInput
)
TenderRecordContract = action_view(
    "record_contract", Action.TENDER_RECORD_CONTRACT, tenders.tender_record_contract, s.ContractInput
)
TenderComplete = action_view("complete", Action.TENDER_COMPLETE, tenders.tender_complete)


class TenderObjections(APIView):
    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [HasAction.for_(Action.OBJECTION_RAISE)()]
        return [IsAuthenticated()]

    @extend_schema(responses=s.ObjectionOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        tender = selectors.tender_get(user=request.user, tender_id=pk)
        return Response(s.ObjectionOutput(selectors.objection_list(user=request.user, tender=tender), many=True).data)

    @extend_schema(request=s.ObjectionInput, responses={201: s.ObjectionOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(s.ObjectionInput, request.data)
        objection = objections.objection_raise(
            actor=actor(request),
            tender_id=pk,
            kind=data["kind"],
            text=data["text"],
            certificate_serial=data["certificate"],
            signature=data["signature"],
        )
        return Response(s.ObjectionOutput(objection).data, status=201)


class ObjectionAnswer(APIView):
    permission_classes = [HasAction.for_(Action.OBJECTION_ANSWER)]

    @extend_schema(request=s.ObjectionAnswerInput, responses=s.ObjectionOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(s.ObjectionAnswerInput, request.data)
        objection = objections.objection_answer(actor=actor(request), objection_id=pk, **data)
        return Response(s.ObjectionOutput(objection).data)


class ShareInput(serializers.Serializer[Any]):
    share = serializers.CharField(help_text="Your decrypted share, base64.")


class OpeningShare(APIView):
    """GET: the caller's wrapped share of the tender's opening key (a key holder decrypts it on its
    own machine). POST: submit the decrypted share during the opening; the share that meets the
    threshold opens the bids and publishes the opening record."""

    permission_classes = [HasAction.for_(Action.OPENING_SUBMIT_SHARE)]

    @extend_schema(responses=o.WrappedShareOutput)
    def get(self, request: Request, pk: int) -> Response:
        return Response(o.WrappedShareOutput(opening.opening_share_fetch(actor=actor(request), tender_id=pk)).data)

    @extend_schema(request=ShareInput, responses=o.ShareSubmittedOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(ShareInput, request.data)
        done = opening.opening_submit_share(actor=actor(request), tender_id=pk, share=data["share"])
        return Response(o.ShareSubmittedOutput(done).data)


class ReleaseInput(serializers.Serializer[Any]):
    layer_key = serializers.CharField(
        max_length=64, help_text="The private half of the bid's own layer key (32 bytes, base64)."
    )


class BidRelease(APIView):
    """POST (the bidding agency, during the opening): release the key of the bid's own lock (投标人解密), under
    the bidder's-lock policy. Refused before the deadline; checked against the public half signed at submission.
    A bid whose key is not released within the decryption window counts as withdrawn."""

    permission_classes = [HasAction.for_(Action.BID_SUBMIT)]

    @extend_schema(request=ReleaseInput, responses=BidOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(ReleaseInput, request.data)
        return Response(
            BidOutput(opening.bid_release(actor=actor(request), bid_id=pk, layer_key=data["layer_key"])).data
        )


class ScoreSheetInput(serializers.Serializer[Any]):
    member_code = serializers.CharField(max_length=40, help_text="The expert's number in the expert pool.")
    member_name = serializers.CharField(max_length=60)
    scores = serializers.DictField(child=serializers.CharField(), help_text="Bid id → score (0–100).")
    breakdown = serializers.DictField(
        child=serializers.DictField(), required=False, default=dict, help_text="Bid id → points by criterion."
    )


class EvaluationScores(APIView):
    """POST (trading centre): record one committee member's score sheet for the current round."""

    permission_classes = [HasAction.for_(Action.TENDER_RECORD_RESULT)]

    @extend_schema(request=ScoreSheetInput, responses={201: o.ScoreSheetOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(ScoreSheetInput, request.data)
        sheet = evaluation.committee_score_record(actor=actor(request), tender_id=pk, **data)
        recorded = {
            "round": sheet[0].round,
            "member_code": sheet[0].member_code,
            "scores": {str(s.bid_id): str(s.score) for s in sheet},
        }
        return Response(o.ScoreSheetOutput(recorded).data, status=201)


class BidReasonInput(serializers.Serializer[Any]):
    """One bid of the tender and the written reason (setting it aside, or picking it)."""

    bid = serializers.IntegerField()
    reason = serializers.CharField()


class EvaluationDisqualify(APIView):
    """POST (trading centre): the committee sets a bid aside (否决投标) with the reason."""

    permission_classes = [HasAction.for_(Action.TENDER_RECORD_RESULT)]

    @extend_schema(request=BidReasonInput, responses=o.DisqualifiedBidOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(BidReasonInput, request.data)
        bid = evaluation.evaluation_disqualify(
            actor=actor(request), tender_id=pk, bid_id=data["bid"], reason=data["reason"]
        )
        return Response(
            o.DisqualifiedBidOutput({"bid": bid.pk, "status": bid.status, "reason": bid.result_reason}).data
        )


class EvaluationConclude(APIView):
    """POST (trading centre): conclude the round by the tender's method and publicise the candidates."""

    permission_classes = [HasAction.for_(Action.TENDER_RECORD_RESULT)]

    @extend_schema(request=None, responses=o.EvaluationViewOutput)
    def post(self, request: Request, pk: int) -> Response:
        tender = evaluation.evaluation_conclude(actor=actor(request), tender_id=pk)
        return Response(o.EvaluationViewOutput(bid_evaluation.evaluation_view(tender=tender, staff=True)).data)


class DirectPick(APIView):
    """POST (the purchaser): pick the agency of a direct selection, with the written reason."""

    permission_classes = [HasAction.for_(Action.TENDER_DIRECT_PICK)]

    @extend_schema(request=BidReasonInput, responses=o.EvaluationViewOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = valid_input(BidReasonInput, request.data)
        tender = evaluation.direct_pick(actor=actor(request), tender_id=pk, bid_id=data["bid"], reason=data["reason"])
        return Response(o.EvaluationViewOutput(bid_evaluation.evaluation_view(tender=tender, staff=False)).data)

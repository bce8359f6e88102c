from decimal import Decimal
from typing import Any

from rest_framework import serializers

from core import clock
from market.access import tender_accepts_bids
from market.choices import Category, Method, ObjectionKind
from market.models import Notice, Objection, RuleProfile, Tender, TenderAttachment


class TenderInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    method = serializers.ChoiceField(choices=Method.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    region = serializers.CharField(max_length=6)
    budget = serializers.DecimalField(max_digits=16, decimal_places=2)
    price_floor = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Price methods: the lowest acceptable price (the budget is the ceiling).",
    )
    bid_deadline = serializers.DateTimeField()
    min_bids = serializers.IntegerField(required=False, min_value=1, allow_null=True)
    bond_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, default=Decimal(0))
    qualification_requirements = serializers.CharField(required=False, allow_blank=True, default="")
    direct_reason = serializers.CharField(required=False, allow_blank=True, default="")
    profile = serializers.SlugField(required=False, help_text="Rule profile name; the site default if absent.")


class AttachmentOutput(serializers.ModelSerializer[TenderAttachment]):
    class Meta:
        model = TenderAttachment
        fields = ("id", "name", "sha256", "size", "content_type", "uploaded_at")


class TenderOutput(serializers.ModelSerializer[Tender]):
    purchaser = serializers.CharField(source="purchaser.name")
    profile = serializers.CharField(source="profile.name")
    winner = serializers.CharField(source="winner.name", allow_null=True, default=None)
    accepting_bids = serializers.SerializerMethodField()
    attachments = AttachmentOutput(many=True, read_only=True)

    class Meta:
        model = Tender
        fields = (
            "id",
            "reference",
            "title",
            "description",
            "purchaser",
            "profile",
            "method",
            "category",
            "region",
            "budget",
            "price_floor",
            "bid_deadline",
            "min_bids",
            "bond_amount",
            "qualification_requirements",
            "direct_reason",
            "status",
            "accepting_bids",
            "return_reason",
            "cancel_reason",
            "fail_reason",
            "suspended_from",
            "published_at",
            "opening_ends_at",
            "publicity_ends_at",
            "awarded_at",
            "contract_due_at",
            "contracted_at",
            "contract_late",
            "service_due_at",
            "winner",
            "closed_at",
            "attachments",
        )

    def get_accepting_bids(self, tender: Tender) -> bool:
        # Decided by the clock at the moment of reading, not by the stored state alone.
        return tender_accepts_bids(tender, clock.now())


class TenderListOutput(serializers.ModelSerializer[Tender]):
    purchaser = serializers.CharField(source="purchaser.name")

    class Meta:
        model = Tender
        fields = (
            "id",
            "reference",
            "title",
            "purchaser",
            "method",
            "category",
            "region",
            "budget",
            "bid_deadline",
            "status",
            "published_at",
        )


class ReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField()


class AmendInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=300)
    body = serializers.CharField()
    new_deadline = serializers.DateTimeField(required=False, allow_null=True)


class ResumeInput(serializers.Serializer[Any]):
    ruling = serializers.CharField()
    new_deadline = serializers.DateTimeField(required=False, allow_null=True)


class ContractInput(serializers.Serializer[Any]):
    contract_reference = serializers.CharField(max_length=100)
    service_due_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The completion date the contract agrees, if any."
    )


class EmptyInput(serializers.Serializer[Any]):
    pass


class AttachmentInput(serializers.Serializer[Any]):
    file = serializers.FileField()
    name = serializers.CharField(required=False, max_length=200)


class NoticeOutput(serializers.ModelSerializer[Notice]):
    tender_reference = serializers.CharField(source="tender.reference")

    class Meta:
        model = Notice
        fields = ("id", "tender", "tender_reference", "kind", "title", "body", "data", "published_at", "content_hash")


class ObjectionInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ObjectionKind.choices)
    text = serializers.CharField(help_text="The grounds; signed exactly as sent, without surrounding whitespace.")
    certificate = serializers.CharField(max_length=40, help_text="Serial of the agency's signing certificate.")
    signature = serializers.CharField(help_text="Base64 signature over the objection payload (docs/crypto.md).")


class ObjectionAnswerInput(serializers.Serializer[Any]):
    answer = serializers.CharField()
    upheld = serializers.BooleanField()
    new_deadline = serializers.DateTimeField(required=False, allow_null=True)


class ObjectionOutput(serializers.ModelSerializer[Objection]):
    organisation = serializers.CharField(source="organisation.name")

    class Meta:
        model = Objection
        fields = (
            "id",
            "tender",
            "kind",
            "organisation",
            "text",
            "raised_at",
            "reply_due_at",
            "status",
            "answer",
            "upheld",
            "answered_at",
        )


class RuleProfileOutput(serializers.ModelSerializer[RuleProfile]):
    class Meta:
        model = RuleProfile
        exclude = ("id",)


class MeOrganisationOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    uscc = serializers.CharField()


class MeOutput(serializers.Serializer[Any]):
    """Who am I: role, organisation (null for a user without one) and the actions the role may take."""

    username = serializers.CharField()
    role = serializers.CharField()
    organisation = MeOrganisationOutput(allow_null=True)
    actions = serializers.ListField(child=serializers.CharField())

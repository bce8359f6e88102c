"""What the opening and evaluation endpoints return, typed: the views render through these
serializers, so the published schema (docs/openapi.yaml) is what the endpoints send.

A signed record (opening record, evaluation record) is returned verbatim: its digest is the
SHA-256 of its canonical JSON and the platform's signature covers exactly those bytes, so it is
never re-rendered field by field. Its schema names the keys a verifier finds in it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

_SIGNED = (
    "The signed document exactly as stored: verify with `python -m bidding.offline_verify` or by checking "
    "that digest = SHA-256 of its canonical JSON and that the signature verifies under the platform CA's key."
)


@extend_schema_field(
    {
        "type": "object",
        "description": _SIGNED,
        "properties": {
            "tender": {"type": "string"},
            "suite": {"type": "string"},
            "opening_public_key": {"type": "string"},
            "bid_deadline": {"type": "string", "format": "date-time"},
            "opened_at": {"type": "string", "format": "date-time"},
            "shares": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
            "bids": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        },
        "additionalProperties": True,
    }
)
class OpeningDocumentField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "description": _SIGNED + " When lots were drawn it carries the seed and the order `lottery.py` recomputes.",
        "additionalProperties": True,
    }
)
class EvaluationDocumentField(serializers.JSONField):
    pass


class OpeningRecordOutput(serializers.Serializer[Any]):
    record = OpeningDocumentField()
    digest = serializers.CharField(help_text="SHA-256 (hex) of the record's canonical JSON.")
    signature = serializers.CharField(help_text="The platform's Ed25519 signature of the record (base64).")


class EvaluationRecordOutput(serializers.Serializer[Any]):
    record = EvaluationDocumentField()
    digest = serializers.CharField(help_text="SHA-256 (hex) of the record's canonical JSON.")
    signature = serializers.CharField(help_text="The platform's Ed25519 signature of the record (base64).")


class LotteryCommitmentOutput(serializers.Serializer[Any]):
    algorithm = serializers.CharField()
    commitment = serializers.CharField(help_text="SHA-256 of the secret, published with the tender notice.")


class ValidBidOutput(serializers.Serializer[Any]):
    bid = serializers.IntegerField()
    agency = serializers.CharField()
    uscc = serializers.CharField()
    price = serializers.CharField(allow_null=True, help_text="Decimal, as a string; none for a quality-only bid.")


class EvaluationViewOutput(serializers.Serializer[Any]):
    tender = serializers.CharField(help_text="The tender's reference.")
    method = serializers.CharField()
    status = serializers.CharField()
    round = serializers.IntegerField(help_text="The current round (0 before evaluation starts).")
    lottery = LotteryCommitmentOutput(allow_null=True, help_text="Present when the method draws lots.")
    records = EvaluationRecordOutput(many=True, help_text="The published evaluation records, oldest round first.")
    valid_bids = ValidBidOutput(many=True, required=False, help_text="During evaluation: the bids in the running.")
    sheets = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="During evaluation, staff only: the member codes whose sheets are in for this round.",
    )


class ScoreSheetOutput(serializers.Serializer[Any]):
    round = serializers.IntegerField()
    member_code = serializers.CharField()
    scores = serializers.DictField(child=serializers.CharField(), help_text="Bid id → score, as decimal strings.")


class DisqualifiedBidOutput(serializers.Serializer[Any]):
    bid = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()


class ShareContextOutput(serializers.Serializer[Any]):
    tender = serializers.CharField()
    holder = serializers.CharField()
    certificate = serializers.CharField(help_text="Serial of the key-holder certificate the share is wrapped to.")
    index = serializers.IntegerField()


class WrappedShareOutput(serializers.Serializer[Any]):
    tender = serializers.CharField()
    index = serializers.IntegerField()
    role = serializers.CharField()
    certificate = serializers.CharField()
    wrapped = serializers.CharField(help_text="The share, encrypted to the holder's P-256 key (base64).")
    submitted_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "context" is also the name of every serializer's context attribute: added here, not declared.
        fields = super().get_fields()
        fields["context"] = ShareContextOutput(
            help_text="The associated data the share is bound to; pass it to the unwrap."
        )
        return fields


class ShareSubmittedOutput(serializers.Serializer[Any]):
    tender = serializers.CharField()
    shares_submitted = serializers.IntegerField()
    threshold = serializers.IntegerField()
    opened = serializers.BooleanField(help_text="True when this share met the threshold and the bids were opened.")

from __future__ import annotations

import builtins
from typing import Any

from rest_framework import serializers

from agencies.choices import (
    EVALUATION_DIMENSIONS,
    CreditList,
    Incentive,
    RestrictedAction,
    RevocationReason,
)
from agencies.models import (
    AdmissionDecision,
    Agency,
    Certificate,
    CreditEvent,
    CreditEventKind,
    CreditListEntry,
    Qualification,
    ServiceEvaluation,
)
from core import clock
from market.choices import Category

# --- input -----------------------------------------------------------------------------------------


class RegisterInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    name = serializers.CharField(max_length=200)
    uscc = serializers.CharField(max_length=40, help_text="统一社会信用代码 (GB 32100-2015, checked).")
    region = serializers.CharField(max_length=6)
    legal_representative = serializers.CharField(max_length=60)
    service_categories = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=True)
    contact_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    introduction = serializers.CharField(required=False, allow_blank=True, default="")


class ProfileInput(serializers.Serializer[Any]):
    legal_representative = serializers.CharField(max_length=60, required=False)
    contact_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    introduction = serializers.CharField(required=False, allow_blank=True)
    service_categories = serializers.ListField(child=serializers.CharField(max_length=40), required=False)


class QualificationInput(serializers.Serializer[Any]):
    category = serializers.ChoiceField(choices=Category.choices)
    kind = serializers.CharField(max_length=120)
    grade = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    number = serializers.CharField(max_length=60)
    issuer = serializers.CharField(max_length=120)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField()
    file = serializers.FileField(required=False, help_text="Scan of the certificate (PDF or image).")


class ReapplyInput(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AgencyReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CsrInput(serializers.Serializer[Any]):
    # Blank passes through so an empty request gets the same `csr_malformed` as any unreadable one.
    csr = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="PEM certificate signing request made by your own client."
    )


class SigningCsrInput(CsrInput):
    endorsement = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="While the agency holds a valid signing certificate: base64 signature by its key over the "
        "rollover payload (docs/crypto.md).",
    )
    endorsing_certificate = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=40, help_text="Serial of the endorsing certificate."
    )


class RevokeInput(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=RevocationReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    signature = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="An agency revoking its own signing certificate: base64 signature by that certificate's key over "
        "the revocation payload (docs/crypto.md). Operators need none.",
    )


class CreditEventInput(serializers.Serializer[Any]):
    agency = serializers.IntegerField(help_text="Agency id.")
    kind = serializers.SlugField()
    reason = serializers.CharField()
    evidence = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ProposeInput(serializers.Serializer[Any]):
    agency = serializers.IntegerField()
    list = serializers.ChoiceField(choices=CreditList.choices)
    reason = serializers.CharField()


class DecideInput(serializers.Serializer[Any]):
    document_number = serializers.CharField(max_length=80)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    restricted_actions = serializers.ListField(
        child=serializers.ChoiceField(choices=RestrictedAction.choices), required=False, allow_null=True, default=None
    )
    incentives = serializers.ListField(
        child=serializers.ChoiceField(choices=Incentive.choices), required=False, allow_null=True, default=None
    )
    deciding_department = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EvaluationInput(serializers.Serializer[Any]):
    tender = serializers.IntegerField()
    quality = serializers.IntegerField(min_value=1, max_value=5)
    timeliness = serializers.IntegerField(min_value=1, max_value=5)
    attitude = serializers.IntegerField(min_value=1, max_value=5)
    fees = serializers.IntegerField(min_value=1, max_value=5)
    conduct = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


# --- output ----------------------------------------------------------------------------------------


def _list_status(agency: Agency) -> str | None:
    # Black outranks red: a barred agency shows as barred whatever else holds.
    if getattr(agency, "on_black_list", False):
        return CreditList.BLACK
    if getattr(agency, "on_red_list", False):
        return CreditList.RED
    return None


class DirectoryOutput(serializers.ModelSerializer[Agency]):
    """An agency as the public directory shows it."""

    name = serializers.CharField(source="organisation.name")
    uscc = serializers.CharField(source="organisation.uscc")
    region = serializers.CharField(source="organisation.region")
    score = serializers.IntegerField()
    list_status = serializers.SerializerMethodField()

    class Meta:
        model = Agency
        fields: tuple[str, ...] = (
            "name",
            "uscc",
            "service_categories",
            "region",
            "score",
            "list_status",
            "status",
            "admitted_at",
        )

    def get_list_status(self, agency: Agency) -> str | None:
        return _list_status(agency)


class QualificationOutput(serializers.ModelSerializer[Qualification]):
    counts_now = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Qualification
        fields = (
            "id",
            "category",
            "kind",
            "grade",
            "number",
            "issuer",
            "valid_from",
            "valid_until",
            "expires_at",
            "counts_now",
            "file_name",
            "file_sha256",
            "file_size",
            "added_at",
            "withdrawn_at",
        )

    def get_counts_now(self, q: Qualification) -> bool:
        return q.counts_at(clock.now())


class DecisionOutput(serializers.ModelSerializer[AdmissionDecision]):
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = AdmissionDecision
        fields = ("action", "from_status", "to_status", "reason", "decided_by", "decided_at")


class CertificateOutput(serializers.ModelSerializer[Certificate]):
    organisation = serializers.CharField(source="organisation.name")
    uscc = serializers.CharField(source="organisation.uscc")
    holder = serializers.CharField(source="holder.username", default=None, allow_null=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = (
            "serial",
            "purpose",
            "organisation",
            "uscc",
            "holder",
            "key_kind",
            "fingerprint",
            "not_before",
            "not_after",
            "status",
            "revoked_at",
            "revocation_reason",
            "revocation_note",
            "pem",
        )

    def get_status(self, cert: Certificate) -> str:
        return cert.status_at(clock.now())


class AgencyOutput(DirectoryOutput):
    """The full profile: the agency itself and staff see this."""

    legal_representative = serializers.CharField()
    contact_name = serializers.CharField(source="organisation.contact_name")
    contact_phone = serializers.CharField(source="organisation.contact_phone")
    qualifications = QualificationOutput(many=True, read_only=True)
    decisions = DecisionOutput(many=True, read_only=True)

    class Meta(DirectoryOutput.Meta):
        fields = (
            "id",
            *DirectoryOutput.Meta.fields,
            "status_reason",
            "applied_at",
            "legal_representative",
            "contact_name",
            "contact_phone",
            "contact_email",
            "address",
            "introduction",
            "qualifications",
            "decisions",
        )


class EventKindOutput(serializers.ModelSerializer[CreditEventKind]):
    class Meta:
        model = CreditEventKind
        fields = ("code", "name", "name_zh", "points", "validity_days", "serious", "black_min_years", "black_max_years")


class CreditEventOutput(serializers.ModelSerializer[CreditEvent]):
    agency = serializers.IntegerField(source="agency_id")
    agency_name = serializers.CharField(source="agency.organisation.name")
    kind = serializers.CharField(source="kind.code")
    kind_name = serializers.CharField(source="kind.name_zh")
    recorded_by = serializers.CharField(source="recorded_by.username", default=None, allow_null=True)
    counts_now = serializers.SerializerMethodField()

    class Meta:
        model = CreditEvent
        fields = (
            "id",
            "agency",
            "agency_name",
            "kind",
            "kind_name",
            "points",
            "reason",
            "evidence",
            "source_type",
            "source_id",
            "occurred_at",
            "expires_at",
            "counts_now",
            "recorded_by",
            "recorded_at",
            "annulled_at",
            "annul_reason",
        )

    def get_counts_now(self, event: CreditEvent) -> bool:
        return event.counts_at(clock.now())


class PublicListEntryOutput(serializers.ModelSerializer[CreditListEntry]):
    """A decided entry in the national data spec's field order: subject name and USCC, role,
    reason, decision date, deciding department, document number, measures, start, end, revoked."""

    list = serializers.CharField(source="list_kind")
    decision_date = serializers.SerializerMethodField()
    measures = serializers.SerializerMethodField()
    revoked = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = CreditListEntry
        fields: tuple[str, ...] = (
            "id",
            "subject_name",
            "subject_uscc",
            "subject_role",
            "list",
            "reason",
            "decision_date",
            "deciding_department",
            "document_number",
            "measures",
            "restricted_actions",
            "incentives",
            "starts_at",
            "ends_at",
            "revoked",
            "revoked_at",
            "closing_reason",
            "status",
        )

    def get_decision_date(self, entry: CreditListEntry) -> str | None:
        return entry.decided_at.date().isoformat() if entry.decided_at else None

    def get_measures(self, entry: CreditListEntry) -> builtins.list[str]:
        labels = dict(RestrictedAction.choices) | dict(Incentive.choices)
        codes = entry.restricted_actions if entry.list_kind == CreditList.BLACK else entry.incentives
        return [str(labels.get(c, c)) for c in codes]

    def get_revoked(self, entry: CreditListEntry) -> bool:
        return entry.revoked_at is not None

    def get_status(self, entry: CreditListEntry) -> str:
        return entry.status_at(clock.now())


class ListEntryOutput(PublicListEntryOutput):
    """Staff view: proposals, rules and who acted as well."""

    agency = serializers.IntegerField(source="agency_id")
    agency_name = serializers.CharField(source="agency.organisation.name")
    proposed_by = serializers.CharField(source="proposed_by.username", default=None, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta(PublicListEntryOutput.Meta):
        fields = (
            *PublicListEntryOutput.Meta.fields,
            "agency",
            "agency_name",
            "rule",
            "source_event",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "dismissed_at",
        )


class EvaluationOutput(serializers.ModelSerializer[ServiceEvaluation]):
    tender_reference = serializers.CharField(source="tender.reference")
    agency_name = serializers.CharField(source="agency.organisation.name")
    average = serializers.FloatField(read_only=True)

    class Meta:
        model = ServiceEvaluation
        fields = (
            "id",
            "tender",
            "tender_reference",
            "agency",
            "agency_name",
            *(name for name, _label in EVALUATION_DIMENSIONS),
            "average",
            "comment",
            "status",
            "submitted_at",
            "moderated_at",
            "moderation_note",
            "credit_event",
        )


def credit_summary(agency: Agency, events: Any, entries: Any) -> dict[str, Any]:
    return {
        "score": getattr(agency, "score", None),
        "list_status": _list_status(agency),
        "events": CreditEventOutput(events, many=True).data,
        "list_entries": PublicListEntryOutput(entries, many=True).data,
    }


class CreditSummaryOutput(serializers.Serializer[Any]):
    """An agency's own credit: score, list standing, the events and the decided list entries."""

    score = serializers.IntegerField(allow_null=True)
    list_status = serializers.CharField(allow_null=True)
    events = CreditEventOutput(many=True)
    list_entries = PublicListEntryOutput(many=True)

"""Agencies (中介机构): admission, qualifications, certificates, credit events, service evaluations
and the red and black lists.

Nothing here is ever deleted: decisions, revocations and expiries are new facts on the rows, so
the history a supervisor inspects is the history that happened.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from accounts.models import Organisation
from agencies.choices import (
    AdmissionStatus,
    CertificatePurpose,
    CreditList,
    EvaluationStatus,
    ListEntryStatus,
    RevocationReason,
)
from market.choices import Category
from market.models import Tender

LOCAL = ZoneInfo("Asia/Shanghai")


_Kept = TypeVar("_Kept", bound=models.Model)


class KeptQuerySet(models.QuerySet[_Kept]):
    """Rows that are history: a bulk delete is refused like a single one."""

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model._meta.verbose_name_plural} are never deleted")


class Agency(FSMModelMixin, models.Model):
    """An intermediary agency's profile and admission (入驻) state; name, USCC and region live on
    its :class:`~market.models.Organisation`."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="agency")
    legal_representative = models.CharField("法定代表人 Legal representative", max_length=60)
    contact_email = models.EmailField(blank=True)
    address = models.CharField(max_length=200, blank=True)
    introduction = models.TextField(blank=True)
    service_categories = models.JSONField(default=list, help_text="Category codes the agency offers.")
    status = FSMField(
        max_length=12, choices=AdmissionStatus.choices, default=AdmissionStatus.APPLIED, protected=True, db_index=True
    )
    # The reason of the latest decision, shown to the agency (the full history is in decisions).
    status_reason = models.TextField(blank=True)
    applied_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("organisation__name",)
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.organisation.name

    # --- transitions (state only; agencies.services.admission saves, records and audits) --------
    @transition(field=status, source=AdmissionStatus.APPLIED, target=AdmissionStatus.ADMITTED)
    def admit(self) -> None:
        pass

    @transition(field=status, source=AdmissionStatus.APPLIED, target=AdmissionStatus.RETURNED)
    def return_application(self) -> None:
        pass

    # A returned agency re-applies after fixing what it was told; a removed one may apply afresh
    # (unless a black-list entry bars it from registering).
    @transition(
        field=status, source=[AdmissionStatus.RETURNED, AdmissionStatus.REMOVED], target=AdmissionStatus.APPLIED
    )
    def reapply(self) -> None:
        pass

    @transition(field=status, source=AdmissionStatus.ADMITTED, target=AdmissionStatus.SUSPENDED)
    def suspend(self) -> None:
        pass

    @transition(field=status, source=AdmissionStatus.SUSPENDED, target=AdmissionStatus.ADMITTED)
    def reinstate(self) -> None:
        pass

    @transition(
        field=status,
        source=[AdmissionStatus.APPLIED, AdmissionStatus.ADMITTED, AdmissionStatus.SUSPENDED],
        target=AdmissionStatus.REMOVED,
    )
    def remove(self) -> None:
        pass


class AdmissionDecision(models.Model):
    """One step of an agency's admission history: who moved it, from what, to what, and why.

    The admission state at any past moment is the ``to_status`` of the last step before it, which
    is how "was this agency admitted at the bid deadline?" is answered.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=12, choices=AdmissionStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=AdmissionStatus.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ("decided_at", "id")
        indexes = [models.Index(fields=["agency", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status or '-'} → {self.to_status}"


def qualification_path(instance: Qualification, filename: str) -> str:
    return f"qualifications/{instance.file_sha256[:2]}/{instance.file_sha256}"


class Qualification(models.Model):
    """A qualification certificate (资质证书). It counts for its category from ``valid_from`` through
    the whole of ``valid_until`` (local time), and stops counting at the next midnight by itself."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="qualifications")
    category = models.CharField(max_length=40, choices=Category.choices)
    kind = models.CharField("资质类型 Type", max_length=120)
    grade = models.CharField("等级 Grade", max_length=40, blank=True)
    number = models.CharField("证书编号 Number", max_length=60)
    issuer = models.CharField("发证机关 Issuer", max_length=120)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField("有效期至 Valid until")
    file = models.FileField(upload_to=qualification_path, max_length=200, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    added_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("category", "valid_until", "id")

    def __str__(self) -> str:
        return f"{self.kind} {self.grade} {self.number}"

    @property
    def starts_at(self) -> datetime | None:
        return datetime.combine(self.valid_from, time(), LOCAL) if self.valid_from else None

    @property
    def expires_at(self) -> datetime:
        """The first instant it no longer counts: midnight after ``valid_until``, Beijing time."""
        return datetime.combine(self.valid_until + timedelta(days=1), time(), LOCAL)

    def counts_at(self, at: datetime) -> bool:
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return False
        starts = self.starts_at
        return (starts is None or starts <= at) and at < self.expires_at


class Certificate(models.Model):
    """An X.509 certificate the platform CA issued: an agency's bid-signing key, or an
    opening-key holder's key. The private key never reached the server; only this does."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="certificates")
    # The person, for a key holder; for an agency the key belongs to the organisation.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    purpose = models.CharField(max_length=12, choices=CertificatePurpose.choices)
    serial = models.CharField(max_length=40, unique=True, help_text="Hexadecimal serial number.")
    pem = models.TextField()
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the public key (SPKI).")
    key_kind = models.CharField(max_length=16)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=24, choices=RevocationReason.choices, blank=True)
    revocation_note = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-issued_at", "-id")

    def __str__(self) -> str:
        return f"certificate {self.serial}"

    def status_at(self, at: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= at:
            return "revoked"
        if at < self.not_before:
            return "not_yet_valid"
        if at >= self.not_after:
            return "expired"
        return "valid"


class CreditPolicy(models.Model):
    """The jurisdiction's credit settings: one row, edited in the admin (audited there)."""

    base_score = models.IntegerField(default=100)
    good_evaluation_min_average = models.DecimalField(max_digits=3, decimal_places=2, default=4)
    poor_evaluation_max_average = models.DecimalField(max_digits=3, decimal_places=2, default=2.5)
    red_min_score = models.IntegerField(default=110)
    red_min_evaluations = models.PositiveSmallIntegerField(default=3)
    red_lookback_days = models.PositiveSmallIntegerField(default=365)
    red_duration_days = models.PositiveSmallIntegerField(default=365)
    red_incentives = models.JSONField(default=list)
    black_restricted_actions = models.JSONField(default=list)

    class Meta:
        verbose_name_plural = "credit policy"

    def __str__(self) -> str:
        return "credit policy"


class CreditEventKind(models.Model):
    """A kind of credit event and its default points; configurable, with DOMAIN.md's defaults."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    name_zh = models.CharField(max_length=40)
    points = models.IntegerField()
    validity_days = models.PositiveIntegerField(help_text="How long an event counts towards the score.")
    # A serious violation proposes a black-list entry of min..max years.
    serious = models.BooleanField(default=False)
    black_min_years = models.PositiveSmallIntegerField(null=True, blank=True)
    black_max_years = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("-points", "code")

    def __str__(self) -> str:
        return f"{self.name_zh} {self.name} ({self.points:+d})"


class CreditEvent(models.Model):
    """A scored fact about an agency. ``points`` are copied from the kind when recorded, so a
    later change to the table never rewrites history."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="credit_events")
    kind = models.ForeignKey(CreditEventKind, on_delete=models.PROTECT, related_name="events")
    points = models.IntegerField()
    reason = models.TextField()
    evidence = models.TextField(blank=True, help_text="Document numbers, links, what the decision rests on.")
    source_type = models.CharField(max_length=60, blank=True)
    source_id = models.CharField(max_length=40, blank=True)
    occurred_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    annulled_at = models.DateTimeField(null=True, blank=True)
    annul_reason = models.TextField(blank=True)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = KeptQuerySet["CreditEvent"].as_manager()

    class Meta:
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["agency", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind.code} {self.points:+d} for {self.agency_id}"

    def counts_at(self, at: datetime) -> bool:
        if self.annulled_at is not None and self.annulled_at <= at:
            return False
        return self.occurred_at <= at < self.expires_at

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("credit events are never deleted; annul the event instead")


class ServiceEvaluation(models.Model):
    """The purchaser's rating of the agency that served a completed tender (服务评价)."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="service_evaluation")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="evaluations")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    quality = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    timeliness = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    attitude = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    fees = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    conduct = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.PENDING)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_note = models.TextField(blank=True)
    credit_event = models.OneToOneField(
        CreditEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="evaluation"
    )

    class Meta:
        ordering = ("-submitted_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quality__range=(1, 5))
                & models.Q(timeliness__range=(1, 5))
                & models.Q(attitude__range=(1, 5))
                & models.Q(fees__range=(1, 5))
                & models.Q(conduct__range=(1, 5)),
                name="evaluation_scores_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return f"evaluation of {self.agency_id} for tender {self.tender_id}"

    @property
    def average(self) -> float:
        return (self.quality + self.timeliness + self.attitude + self.fees + self.conduct) / 5


class CreditListEntry(FSMModelMixin, models.Model):
    """An entry on the red or black list (红黑名单), kept for ever.

    The stored ``status`` follows the dates (the clock moves decided → in force → expired); every
    question asked of an entry (``status_at``) reads the dates themselves, so a late clock never
    gives a wrong answer.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="list_entries")
    list_kind = models.CharField(max_length=5, choices=CreditList.choices)
    status = FSMField(
        max_length=10, choices=ListEntryStatus.choices, default=ListEntryStatus.PROPOSED, protected=True, db_index=True
    )
    reason = models.TextField()
    # Who proposed: a supervisor, or a rule (proposed_by empty, rule names it).
    rule = models.CharField(max_length=40, blank=True)
    source_event = models.ForeignKey(
        CreditEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="list_entries"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    # The national data spec's fields, fixed at the decision.
    subject_name = models.CharField(max_length=200, blank=True)
    subject_uscc = models.CharField(max_length=18, blank=True)
    subject_role = models.CharField(max_length=40, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    deciding_department = models.CharField(max_length=200, blank=True)
    document_number = models.CharField("文号 Basis document number", max_length=80, blank=True)
    restricted_actions = models.JSONField(default=list, blank=True)
    incentives = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why the supervisor dismissed the proposal, or why the entry was revoked (信用修复).
    closing_reason = models.TextField(blank=True)

    objects = KeptQuerySet["CreditListEntry"].as_manager()

    class Meta:
        ordering = ("-proposed_at", "-id")
        verbose_name_plural = "credit list entries"
        indexes = [
            models.Index(fields=["agency", "list_kind", "status"]),
            models.Index(fields=["list_kind", "starts_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.list_kind} list entry {self.pk} ({self.status})"

    def status_at(self, at: datetime) -> str:
        """The entry's status at ``at``, from its dates."""
        if self.status in (ListEntryStatus.PROPOSED, ListEntryStatus.DISMISSED):
            return str(self.status)
        if self.revoked_at is not None and self.revoked_at <= at:
            return ListEntryStatus.REVOKED
        assert self.starts_at is not None and self.ends_at is not None
        if at < self.starts_at:
            return ListEntryStatus.DECIDED
        if at < self.ends_at:
            return ListEntryStatus.IN_FORCE
        return ListEntryStatus.EXPIRED

    # --- transitions ------------------------------------------------------------------------------
    @transition(field=status, source=ListEntryStatus.PROPOSED, target=ListEntryStatus.DECIDED)
    def decide(self) -> None:
        pass

    @transition(field=status, source=ListEntryStatus.PROPOSED, target=ListEntryStatus.DISMISSED)
    def dismiss(self) -> None:
        pass

    @transition(field=status, source=ListEntryStatus.DECIDED, target=ListEntryStatus.IN_FORCE)
    def come_into_force(self) -> None:
        pass

    @transition(
        field=status, source=[ListEntryStatus.DECIDED, ListEntryStatus.IN_FORCE], target=ListEntryStatus.EXPIRED
    )
    def expire(self) -> None:
        pass

    @transition(
        field=status, source=[ListEntryStatus.DECIDED, ListEntryStatus.IN_FORCE], target=ListEntryStatus.REVOKED
    )
    def revoke(self) -> None:
        pass

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("credit list entries are never deleted; revoke the entry instead")

"""Jurisdiction rule profiles, tenders, attachments, notices, objections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from accounts.models import Organisation
from accounts.validators import validate_region_code
from market import guards
from market.choices import (
    SUSPENDABLE_STATUSES,
    Category,
    Method,
    NoticeKind,
    ObjectionKind,
    ObjectionStatus,
    OpeningPolicy,
    TenderStatus,
)


class RuleProfile(models.Model):
    """A jurisdiction's time and method rules (see ``market.rules`` for the defaults)."""

    name = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=120)
    open_tender_min_notice = models.DurationField()
    supermarket_min_notice = models.DurationField()
    supermarket_notice_in_working_days = models.BooleanField(default=True)
    amendment_cutoff = models.DurationField()
    objection_cutoff = models.DurationField()
    objection_reply_period = models.DurationField()
    decryption_window = models.DurationField()
    publicity_period = models.DurationField()
    contract_period = models.DurationField()
    min_bids = models.JSONField(help_text="Minimum bids to open, by method.")
    max_bond_ratio = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.02"))
    lottery_allowed = models.BooleanField(default=True)
    direct_budget_cap = models.DecimalField(max_digits=16, decimal_places=2)
    # 评标委员会: five or more members, an odd number (招标投标法 §37).
    committee_min_members = models.PositiveSmallIntegerField(default=5)
    # Whether each bid also carries a lock only its agency can open (market.choices.OpeningPolicy).
    opening_policy = models.CharField(max_length=24, choices=OpeningPolicy.choices, default=OpeningPolicy.THRESHOLD)

    def __str__(self) -> str:
        return self.title


class Tender(FSMModelMixin, models.Model):
    """One procurement with one winner, driven through DOMAIN.md's lifecycle.

    Transition methods change the in-memory state only; ``market.services`` call them under a row
    lock, save, audit and publish notices in one transaction.
    """

    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    purchaser = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="tenders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(RuleProfile, on_delete=models.PROTECT, related_name="tenders")
    method = models.CharField(max_length=20, choices=Method.choices)
    category = models.CharField(max_length=40, choices=Category.choices)
    region = models.CharField(max_length=6, validators=[validate_region_code])
    budget = models.DecimalField(max_digits=16, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    # Price methods accept prices within [price_floor, budget]: the budget is the ceiling (最高限价).
    price_floor = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    bid_deadline = models.DateTimeField()
    min_bids = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    bond_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    qualification_requirements = models.TextField(blank=True)
    direct_reason = models.TextField(blank=True, help_text="Written reason, required for direct selection.")
    retender_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    status = FSMField(
        max_length=20, choices=TenderStatus.choices, default=TenderStatus.DRAFT, protected=True, db_index=True
    )
    return_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    fail_reason = models.TextField(blank=True)
    suspended_from = models.CharField(max_length=20, choices=TenderStatus.choices, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # "objection" (the purchaser's answer resumes) or "complaint" (only the supervisor's ruling does).
    suspension_cause = models.CharField(max_length=10, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The rule profile's values at publication (market.rules.rules_of reads them; never tender.profile).
    rules_snapshot = models.JSONField(null=True, blank=True, editable=False)
    opening_ends_at = models.DateTimeField(null=True, blank=True)
    # When the opening ceremony opened the bids (the threshold of key shares was met).
    opened_at = models.DateTimeField(null=True, blank=True)
    publicity_ends_at = models.DateTimeField(null=True, blank=True)
    awarded_at = models.DateTimeField(null=True, blank=True)
    # The first-ranked candidate of the recorded result: the agency that serves the contract.
    winner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="won_tenders"
    )
    contract_due_at = models.DateTimeField(null=True, blank=True)
    contracted_at = models.DateTimeField(null=True, blank=True)
    contract_reference = models.CharField(max_length=100, blank=True)
    contract_late = models.BooleanField(default=False)
    # The completion date the contract agrees, if it states one: completion by then is on time.
    service_due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The deadlines a suspension pushes back by the time spent suspended.
    SHIFTABLE_DEADLINES = ("bid_deadline", "opening_ends_at", "publicity_ends_at", "contract_due_at")

    class Meta:
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["status", "bid_deadline"]),
            models.Index(fields=["status", "opening_ends_at"]),
            models.Index(fields=["status", "publicity_ends_at"]),
            # The public listings' sorts (search.backends.database): newest, deadline, budget, id last.
            models.Index(fields=["published_at", "id"], name="tender_published_id"),
            models.Index(fields=["bid_deadline", "id"], name="tender_deadline_id"),
            models.Index(fields=["budget", "id"], name="tender_budget_id"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    # --- facts the guards ask -------------------------------------------------------------------
    def has_pending_objection(self) -> bool:
        return bool(self.objections.filter(status=ObjectionStatus.PENDING).exists())

    # --- transitions (state only; see market.services) ---------------------------------------------
    PUBLICATION_GUARDS = [
        guards.method_allowed,
        guards.bond_within_limit,
        guards.direct_selection_justified,
        guards.deadline_far_enough,
    ]

    @transition(
        field=status, source=TenderStatus.DRAFT, target=TenderStatus.PENDING_REVIEW, conditions=PUBLICATION_GUARDS
    )
    def submit(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.PENDING_REVIEW, target=TenderStatus.DRAFT)
    def return_to_draft(self) -> None:
        pass

    @transition(
        field=status, source=TenderStatus.PENDING_REVIEW, target=TenderStatus.PUBLISHED, conditions=PUBLICATION_GUARDS
    )
    def approve(self) -> None:
        pass

    @transition(
        field=status,
        source=TenderStatus.PUBLISHED,
        target=TenderStatus.OPENING,
        conditions=[guards.deadline_passed],
    )
    def start_opening(self) -> None:
        pass

    @transition(
        field=status,
        source=TenderStatus.PUBLISHED,
        target=TenderStatus.FAILED,
        conditions=[guards.deadline_passed],
    )
    def fail_too_few_bids(self) -> None:
        pass

    @transition(
        field=status,
        source=TenderStatus.OPENING,
        target=TenderStatus.EVALUATING,
        conditions=[guards.decryption_window_over, guards.bids_opened],
    )
    def close_opening(self) -> None:
        pass

    @transition(
        field=status,
        source=TenderStatus.OPENING,
        target=TenderStatus.FAILED,
        conditions=[guards.decryption_window_over, guards.bids_not_opened],
    )
    def fail_opening(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.EVALUATING, target=TenderStatus.PUBLICITY)
    def record_result(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.EVALUATING, target=TenderStatus.FAILED)
    def fail_no_valid_bid(self) -> None:
        pass

    @transition(
        field=status,
        source=TenderStatus.PUBLICITY,
        target=TenderStatus.AWARDED,
        conditions=[guards.publicity_over, guards.no_pending_objection],
    )
    def award(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.PUBLICITY, target=TenderStatus.EVALUATING)
    def return_to_evaluation(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.AWARDED, target=TenderStatus.CONTRACTED)
    def record_contract(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.CONTRACTED, target=TenderStatus.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=status, source=list(SUSPENDABLE_STATUSES), target=TenderStatus.SUSPENDED)
    def suspend(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.SUSPENDED, target=RETURN_VALUE(*SUSPENDABLE_STATUSES))
    def resume(self, to: str) -> str:
        return to

    @transition(
        field=status,
        source=[
            s for s in TenderStatus if s not in (TenderStatus.FAILED, TenderStatus.CANCELLED, TenderStatus.COMPLETED)
        ],
        target=TenderStatus.CANCELLED,
    )
    def cancel(self) -> None:
        pass


def attachment_path(instance: TenderAttachment, filename: str) -> str:
    # Content-addressed: the same bytes are stored once, and a path names exactly one content.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class TenderAttachment(models.Model):
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="attachments")
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ("id",)
        constraints = [models.UniqueConstraint(fields=["tender", "sha256"], name="attachment_once_per_tender")]

    def __str__(self) -> str:
        return self.name


class Notice(models.Model):
    """A published public document. Never edited or deleted: a correction is a new notice."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices, db_index=True)
    title = models.CharField(max_length=300)
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(db_index=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("-published_at", "-id")
        indexes = [models.Index(fields=["published_at", "id"], name="notice_published_id")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("a published notice is never edited; publish a correction instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("notices are never deleted")


class Objection(models.Model):
    """An objection (异议) by an agency to the documents or to the result, and its answer."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="objections")
    kind = models.CharField(max_length=20, choices=ObjectionKind.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="objections")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    # The agency's signature over bidding.protocol.objection_payload (tender, agency, kind, text) and the serial of
    # the signing certificate it verifies with: an objection is the agency's own act, not its login's.
    certificate_serial = models.CharField(max_length=40, blank=True)
    signature = models.BinaryField(default=b"")
    raised_at = models.DateTimeField()
    reply_due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.PENDING)
    answer = models.TextField(blank=True)
    upheld = models.BooleanField(null=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"objection {self.pk} to {self.tender_id}"

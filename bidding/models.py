"""Bids, opening keys and their shares.

A bid row is written in the same transaction that places its sealed file at its content address,
so a bid is whole or absent. The ciphertext is never readable by the platform: the key that
opens it exists only as the holders' shares until the opening.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organisation
from agencies.models import Certificate
from market.models import Tender


class BidStatus(models.TextChoices):
    SUBMITTED = "submitted", "已递交 Submitted"
    WITHDRAWN = "withdrawn", "已撤回 Withdrawn"
    SUPERSEDED = "superseded", "已替换 Superseded"
    OPENED = "opened", "已解密 Opened"
    REJECTED = "rejected", "已拒绝 Rejected"
    CANDIDATE = "candidate", "候选人 Candidate"
    WINNER = "winner", "中标/中选 Winner"
    UNSUCCESSFUL = "unsuccessful", "未中标 Unsuccessful"


class Bid(models.Model):
    """One sealed submission. A newer submission by the same agency supersedes it; a withdrawal
    withdraws it; only a bid still ``submitted`` at the deadline is opened."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="bids")
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="bids")
    status = models.CharField(max_length=16, choices=BidStatus.choices, default=BidStatus.SUBMITTED)
    received_at = models.DateTimeField()
    ciphertext_digest = models.CharField(max_length=64, blank=True)
    ciphertext_size = models.PositiveBigIntegerField(default=0)
    # The agency's signature over the submission payload (tender, agency, digest, certificate) and
    # the certificate it verifies with. Empty only for the demo's placeholder rows.
    certificate = models.ForeignKey(Certificate, null=True, blank=True, on_delete=models.PROTECT, related_name="bids")
    signature = models.BinaryField(default=b"")
    idempotency_key = models.CharField(max_length=64, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receipt = models.JSONField(default=dict, blank=True)
    receipt_signature = models.BinaryField(default=b"")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # A withdrawal is the agency's own act: its signature over the withdrawal payload and the certificate.
    withdrawal_certificate = models.ForeignKey(
        Certificate, null=True, blank=True, on_delete=models.PROTECT, related_name="withdrawals"
    )
    withdrawal_signature = models.BinaryField(default=b"")
    # The bidder's own lock (OpeningPolicy.THRESHOLD_AND_BIDDER): the public half of the key the agency sealed
    # the inner layer to (hex, signed with the submission), and the private half once the agency releases it
    # during the decryption window. The released key is held only until the opening ends, then erased.
    layer_public = models.CharField(max_length=64, blank=True)
    layer_key = models.BinaryField(default=b"")
    layer_released_at = models.DateTimeField(null=True, blank=True)
    # What the opening found (唱标): the bid form's price and duration, the inner signature, why a
    # bid was rejected.
    opened_at = models.DateTimeField(null=True, blank=True)
    price = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    signature_status = models.CharField(max_length=16, blank=True)
    result_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("received_at", "id")
        indexes = [models.Index(fields=["tender", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tender", "agency", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="bid_idempotency_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"bid {self.pk} by {self.agency_id} on {self.tender_id}"


class OpeningKey(models.Model):
    """A tender's opening key: the public half, published with the tender notice, that every bid
    is sealed to. The private half is never stored: it exists only as shares, each encrypted to
    one key holder, and is rebuilt in memory at the opening."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="opening_key")
    suite = models.CharField(max_length=16)
    public_key = models.CharField(max_length=128, help_text="Hex of the raw public key.")
    threshold = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"opening key of {self.tender_id} ({self.threshold} of {self.shares.count()})"


class KeyHolderRole(models.TextChoices):
    PURCHASER = "purchaser", "采购人 Purchaser"
    SUPERVISOR = "supervisor", "监督人员 Supervisor"
    TRADING_CENTRE = "trading_centre", "交易中心 Trading centre"


class KeyShare(models.Model):
    """One holder's share of a tender's opening key, encrypted to that holder's registered key."""

    opening_key = models.ForeignKey(OpeningKey, on_delete=models.PROTECT, related_name="shares")
    index = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=KeyHolderRole.choices)
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="key_shares")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="key_shares")
    wrapped = models.BinaryField(help_text="The share, encrypted to the holder's certificate key.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The holder's decrypted share, held only between its submission at the opening (after the
    # deadline) and the moment the threshold is met; erased once the bids are opened.
    submitted_share = models.BinaryField(default=b"")

    class Meta:
        ordering = ("opening_key", "index")
        constraints = [
            models.UniqueConstraint(fields=["opening_key", "index"], name="share_index_once"),
            models.UniqueConstraint(fields=["opening_key", "role"], name="share_role_once"),
        ]

    def __str__(self) -> str:
        return f"share {self.index} of {self.opening_key_id} for {self.holder_id}"


class OpeningRecord(models.Model):
    """The opening record (开标记录表): canonical JSON signed by the platform, published as a notice
    and chained into the audit trail. ``opening_verify`` checks it with the published keys."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="opening_record")
    record = models.JSONField()
    digest = models.CharField(max_length=64)
    signature = models.BinaryField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"opening record of {self.tender_id}"


class LotteryCommitment(models.Model):
    """The verifiable lottery's secret for a tender whose method draws lots (``bidding.lottery``).

    Made at publication: the commitment (a hash) is published with the tender notice; the secret
    itself is sealed to the tender's opening key, so nobody can read it before the opening rebuilds
    that key. The opening fills ``reveal``; the draw publishes it."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT, related_name="lottery_commitment")
    commitment = models.CharField(max_length=64)
    sealed_reveal = models.BinaryField()
    reveal = models.CharField(max_length=64, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lottery commitment of {self.tender_id}"


class CommitteeScore(models.Model):
    """One committee member's score for one valid bid in one evaluation round (open_tender).

    The trading centre records each member's signed score sheet on the committee's behalf; the
    sheets are kept, and published with the evaluation record."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="committee_scores")
    round = models.PositiveSmallIntegerField()
    member_code = models.CharField(max_length=40, help_text="The expert's number in the expert pool.")
    member_name = models.CharField(max_length=60)
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="committee_scores")
    score = models.DecimalField(max_digits=6, decimal_places=2)
    breakdown = models.JSONField(default=dict, blank=True, help_text="Points by criterion, as on the sheet.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("tender", "round", "member_code", "bid")
        constraints = [
            models.UniqueConstraint(fields=["tender", "round", "member_code", "bid"], name="score_once_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.member_code} scores bid {self.bid_id}: {self.score}"


class EvaluationRecord(models.Model):
    """The result of one evaluation round (评标结果): canonical JSON signed by the platform and
    published with the candidate notice. An upheld objection to the result leads to a new round;
    earlier rounds stay."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="evaluation_records")
    round = models.PositiveSmallIntegerField()
    record = models.JSONField()
    digest = models.CharField(max_length=64)
    signature = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("tender", "round")
        constraints = [models.UniqueConstraint(fields=["tender", "round"], name="evaluation_round_once")]

    def __str__(self) -> str:
        return f"evaluation {self.round} of {self.tender_id}"

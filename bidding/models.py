"""Bids: the receipt-level record the tender lifecycle needs (how many bids stand at the deadline).

The sealed, signed submission (ciphertext storage, signatures, receipts, opening) is built on top of
this model by the bidding issue; until then bids are created only by the demo loader and tests.
"""

from __future__ import annotations

from django.db import models

from market.models import Organisation, Tender


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
    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="bids")
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="bids")
    status = models.CharField(max_length=16, choices=BidStatus.choices, default=BidStatus.SUBMITTED)
    received_at = models.DateTimeField()
    ciphertext_digest = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("received_at", "id")
        indexes = [models.Index(fields=["tender", "status"])]

    def __str__(self) -> str:
        return f"bid {self.pk} by {self.agency_id} on {self.tender_id}"

"""A tender's opening key (DOMAIN.md, bids §2): made when the tender is published, its public half
published with the notice, its private half split into shares, each encrypted to one key holder's
registered key, and then forgotten. Nothing that could rebuild it is stored in one place."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from agencies import pki
from agencies.choices import CertificatePurpose
from agencies.models import Certificate
from bidding import crypto
from bidding.models import KeyHolderRole, KeyShare, OpeningKey
from core import clock
from core.audit import audit_record
from core.errors import ApplicationError
from core.permissions import Role, organisation_id_of
from market.models import Tender
from market.rules import rules_of

ROLE_NAMES = {
    KeyHolderRole.PURCHASER: ("the purchaser", "采购人"),
    KeyHolderRole.SUPERVISOR: ("the supervisory department", "监督部门"),
    KeyHolderRole.TRADING_CENTRE: ("the trading centre", "交易中心"),
}


def valid_holder_certificates() -> QuerySet[Certificate]:
    now = clock.now()
    return (
        Certificate.objects.filter(
            purpose=CertificatePurpose.KEY_HOLDER,
            revoked_at__isnull=True,
            not_before__lte=now,
            not_after__gt=now,
            holder__is_active=True,
        )
        .select_related("holder")
        .order_by("-issued_at", "-id")
    )


def key_holders_for(tender: Tender, approver: User) -> list[tuple[str, Certificate]]:
    """The three holders (DOMAIN.md: purchaser, supervisor, trading centre), each by its newest
    valid key-holder certificate: the tender's author (or else a colleague), the approving operator
    (or else a colleague), and a supervisor. A missing holder stops the publication: a tender
    whose bids nobody could open must not go out."""
    valid = valid_holder_certificates()
    chosen: list[tuple[str, Certificate | None]] = [
        (
            KeyHolderRole.PURCHASER,
            valid.filter(holder_id=tender.created_by_id).first()
            or valid.filter(organisation_id=tender.purchaser_id, holder__role=Role.PURCHASER).first(),
        ),
        (KeyHolderRole.SUPERVISOR, valid.filter(holder__role=Role.SUPERVISOR).first()),
        (
            KeyHolderRole.TRADING_CENTRE,
            valid.filter(holder_id=approver.pk).first()
            or valid.filter(organisation_id=organisation_id_of(approver), holder__role=Role.OPERATOR).first(),
        ),
    ]
    missing = [role for role, cert in chosen if cert is None]
    if missing:
        en = ", ".join(ROLE_NAMES[KeyHolderRole(r)][0] for r in missing)
        zh = "、".join(ROLE_NAMES[KeyHolderRole(r)][1] for r in missing)
        raise ApplicationError(
            "key_holder_missing",
            f"No opening-key holder is registered for {en}; register a key at /api/keys/ first.",
            f"{zh}尚未登记开标密钥持有人证书，无法发布。",
            status=409,
        )
    return [(role, cert) for role, cert in chosen if cert is not None]


def share_context(tender: Tender, share: KeyShare | tuple[int, str, str]) -> dict[str, Any]:
    """What a wrapped share is bound to: its tender, holder, certificate and index."""
    if isinstance(share, KeyShare):
        index, username, serial = share.index, share.holder.username, share.certificate.serial
    else:
        index, username, serial = share
    return {"tender": tender.reference, "holder": username, "certificate": serial, "index": index}


def opening_key_create(*, tender: Tender, actor: User) -> OpeningKey:
    """Make the tender's opening key pair; keep the public key; split the private key ``t`` of
    ``n`` among the holders, each share encrypted to the holder's certificate; drop the private key.

    The caller holds the tender's row lock and publishes the notice in the same transaction, so a
    tender is published with its key or not at all.
    """
    holders = key_holders_for(tender, actor)
    threshold = settings.AGORA_OPENING_THRESHOLD
    suite = settings.AGORA_CRYPTO_SUITE
    private_key, public_key = crypto.opening_keypair()
    shares = crypto.split_key(private_key, n=len(holders), t=threshold)
    # Never publish a key that the shares could not rebuild.
    crypto.combine_shares(shares[:threshold], t=threshold, expected_public=public_key)
    opening_key = OpeningKey.objects.create(
        tender=tender, suite=suite, public_key=public_key.hex(), threshold=threshold, created_at=clock.now()
    )
    placed = []
    for (index, share), (role, cert) in zip(shares, holders, strict=True):
        assert cert.holder is not None
        context = share_context(tender, (index, cert.holder.username, cert.serial))
        wrapped = crypto.wrap_share(
            share=share, holder_public_key=pki.certificate_load(cert.pem.encode()).public_key(), associated=context
        )
        KeyShare.objects.create(
            opening_key=opening_key, index=index, role=role, holder=cert.holder, certificate=cert, wrapped=wrapped
        )
        placed.append({"role": role, "holder": cert.holder.username, "certificate": cert.serial, "index": index})
    del private_key, shares
    audit_record(
        actor=actor,
        action="tender.opening_key",
        obj=opening_key,
        after={
            "tender": tender.reference,
            "suite": suite,
            "public_key": opening_key.public_key,
            "threshold": threshold,
            "holders": placed,
        },
    )
    return opening_key


def opening_key_notice_data(opening_key: OpeningKey) -> dict[str, Any]:
    """What the tender notice publishes: enough for an agency's client to seal a bid and for anyone
    to check who holds the shares."""
    return {
        "suite": opening_key.suite,
        "policy": rules_of(opening_key.tender).opening_policy,
        "public_key": opening_key.public_key,
        "threshold": opening_key.threshold,
        "holders": [
            {"role": s.role, "holder": s.holder.username, "certificate": s.certificate.serial, "index": s.index}
            for s in opening_key.shares.select_related("holder", "certificate").order_by("index")
        ],
    }

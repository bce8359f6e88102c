"""Opening keys (DOMAIN.md, bids §2): made at publication, public half in the notice, shares
encrypted to the three holders, private half kept nowhere."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from agencies.services.certificates import certificate_revoke
from bidding import crypto
from bidding.models import KeyShare, OpeningKey
from bidding.services.opening_keys import share_context
from core.errors import ApplicationError
from core.models import AuditEntry
from market.choices import TenderStatus
from market.models import Notice, Tender
from procurement.services import tenders as svc
from tests.factories import HOLDER_KEYS
from tests.market.helpers import world_state


def _unwrap(tender: Tender, share: KeyShare) -> bytes:
    return crypto.unwrap_share(
        wrapped=bytes(share.wrapped),
        holder_private_key=HOLDER_KEYS[share.holder.username],
        associated=share_context(tender, share),
    )


def test_publication_makes_the_key_and_the_notice_carries_its_public_half(world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    key = OpeningKey.objects.get(tender=tender)
    notice = Notice.objects.get(tender=tender, kind="tender")
    published = notice.data["opening_key"]
    assert published["public_key"] == key.public_key and key.public_key in notice.body
    assert (published["suite"], published["threshold"]) == (settings.AGORA_CRYPTO_SUITE, 2)
    holders = {h["role"]: h["holder"] for h in published["holders"]}
    assert holders == {
        "purchaser": world.purchaser.username,
        "supervisor": world.supervisor.username,
        "trading_centre": world.operator.username,
    }
    assert AuditEntry.objects.filter(action="tender.opening_key", object_id=str(key.pk)).count() == 1


def test_any_two_holders_rebuild_the_key_and_one_cannot(world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    key = OpeningKey.objects.get(tender=tender)
    shares = [(s.index, _unwrap(tender, s)) for s in key.shares.select_related("holder", "certificate")]
    public = bytes.fromhex(key.public_key)
    for pair in itertools.combinations(shares, 2):
        private = crypto.combine_shares(list(pair), t=2, expected_public=public)
        # The rebuilt key opens a bid sealed to the published public key.
        envelope = crypto.seal(plaintext=b"bid", recipient_public=public, associated={"tender": tender.reference})
        assert crypto.open_sealed(envelope=envelope, recipient_private=private, associated={"tender": tender.reference})
    with pytest.raises(crypto.CryptoError) as refused:
        crypto.combine_shares(shares[:1], t=2, expected_public=public)
    assert refused.value.code == "too_few_shares"


def test_a_share_is_bound_to_its_holder_and_tender(world):
    tender = world.in_state(TenderStatus.PUBLISHED)
    share = OpeningKey.objects.get(tender=tender).shares.select_related("holder", "certificate").first()
    other_key = HOLDER_KEYS[world.supervisor.username if share.holder != world.supervisor else world.operator.username]
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_share(
            wrapped=bytes(share.wrapped), holder_private_key=other_key, associated=share_context(tender, share)
        )
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_share(
            wrapped=bytes(share.wrapped),
            holder_private_key=HOLDER_KEYS[share.holder.username],
            associated={**share_context(tender, share), "tender": "ZB-OTHER"},
        )


def _every_stored_value() -> list[bytes]:
    """Every value of every column of every table, as bytes."""
    values: list[bytes] = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def test_the_private_key_is_stored_nowhere(world, monkeypatch):
    made: list[bytes] = []
    real = crypto.opening_keypair

    def spy() -> tuple[bytes, bytes]:
        private, public = real()
        made.append(private)
        return private, public

    monkeypatch.setattr(crypto, "opening_keypair", spy)
    tender = world.in_state(TenderStatus.PUBLISHED)
    assert len(made) == 1 and OpeningKey.objects.filter(tender=tender).exists()
    private = made[0]
    forms = {private, private.hex().encode(), private.hex().upper().encode(), base64.b64encode(private)}
    forms |= {base64.urlsafe_b64encode(private), base64.b64encode(private).rstrip(b"=")}
    stored = _every_stored_value()
    assert stored, "the search must have read the database"
    assert not [v for v in stored for f in forms if f in v]
    media = [p.read_bytes() for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert not [m for m in media for f in forms if f in m]


def test_no_publication_without_the_three_holders(world):
    tender = world.in_state(TenderStatus.PENDING_REVIEW)
    supervisor_cert = world.supervisor.certificates.get()
    certificate_revoke(actor=world.supervisor, serial=supervisor_cert.serial, reason="key_compromise", note="丢失")
    before = world_state(tender.pk)
    with pytest.raises(ApplicationError) as refused:
        svc.tender_approve(actor=world.operator, tender_id=tender.pk)
    assert (refused.value.status, refused.value.code) == (409, "key_holder_missing")
    assert "监督部门" in refused.value.detail_zh
    assert world_state(tender.pk) == before
    assert not OpeningKey.objects.filter(tender=tender).exists()

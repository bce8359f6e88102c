"""The opening ceremony (开标, DOMAIN.md bids §4).

After the deadline the key holders each fetch their wrapped share, decrypt it on their own
machine and submit it. When the threshold is met the tender's opening key is rebuilt in memory
only; every standing bid is decrypted, its inner signature verified and its bid form read; bids
from agencies barred at the deadline, undecryptable or badly signed are rejected with the reason.
The opening record is canonical JSON signed by the platform, chained into the audit trail and
published as a notice; the submitted shares are then erased.
"""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography import x509
from django.db import connection

from accounts.models import User
from agencies import pki
from agencies.ca import platform_ca
from agencies.choices import RestrictedAction
from agencies.eligibility import Verdict, agencies_may
from bidding import crypto, protocol
from bidding.models import Bid, BidStatus, KeyShare, OpeningKey, OpeningRecord
from bidding.services import submission
from bidding.services.evaluation import lottery_reveal_locked
from bidding.services.opening_keys import share_context
from core import clock, storage
from core.audit import audit_record
from core.canonical import to_jsonable
from core.errors import ApplicationError, NotFound
from core.permissions import Action, require
from market.choices import NoticeKind, TenderStatus
from market.models import Tender
from market.services.notices import notice_publish


def _holder_share(tender: Tender, actor: User, *, lock: bool = False) -> KeyShare:
    try:
        opening_key = tender.opening_key  # type: ignore[attr-defined]
    except OpeningKey.DoesNotExist:
        raise NotFound("This tender has no opening key.", "该项目没有开标密钥。") from None
    shares = opening_key.shares.select_related("holder", "certificate")
    if lock:
        shares = shares.select_for_update(of=("self",))
    share = shares.filter(holder=actor).first()
    if share is None:
        raise ApplicationError(
            "not_a_key_holder", "You hold no share of this tender's key.", "您不是本项目的开标密钥持有人。", status=403
        )
    return share


def opening_share_get(*, actor: User, tender_id: int) -> dict[str, Any]:
    """A key holder's wrapped share and what it is bound to, for the holder's client to decrypt."""
    require(actor, Action.OPENING_SUBMIT_SHARE)
    tender = Tender.objects.filter(pk=tender_id).first()
    if tender is None:
        raise NotFound("No such tender.", "招标项目不存在。")
    share = _holder_share(tender, actor)
    return {
        "tender": tender.reference,
        "index": share.index,
        "role": share.role,
        "certificate": share.certificate.serial,
        "context": share_context(tender, share),
        "wrapped": base64.b64encode(bytes(share.wrapped)).decode(),
        "submitted_at": share.submitted_at,
    }


def share_decode(share: str) -> bytes:
    """A submitted share as bytes; 400 when it is not base64."""
    try:
        return base64.b64decode(share, validate=True)
    except ValueError:
        raise ApplicationError("invalid", "The share is not base64.", "分片格式错误（须为 base64）。") from None


def opening_submit_share_locked(tender: Tender, *, actor: User, raw: bytes) -> dict[str, Any]:
    """A key holder's decrypted share, submitted during the opening, on a tender the caller has
    locked and caught up (``procurement.services.opening.opening_submit_share``). The share that
    meets the threshold opens every bid in the same transaction."""
    if tender.status != TenderStatus.OPENING:
        raise ApplicationError(
            "not_opening",
            "Shares are accepted only during the opening, after the bid deadline.",
            "仅在开标解密期间（投标截止后）接受密钥分片。",
            status=409,
        )
    key_share = _holder_share(tender, actor, lock=True)
    opening_key = key_share.opening_key
    if OpeningRecord.objects.filter(tender=tender).exists():
        raise ApplicationError("already_opened", "The bids are already opened.", "本项目已完成开标。", status=409)
    if key_share.submitted_at is not None:
        raise ApplicationError("share_already_submitted", "Your share is already in.", "您的分片已提交。", status=409)
    try:
        crypto.share_check(raw, index=key_share.index, public=bytes.fromhex(opening_key.public_key))
    except crypto.CryptoError as exc:
        raise ApplicationError(exc.code, exc.detail, exc.detail_zh) from None
    key_share.submitted_share, key_share.submitted_at = raw, clock.now()
    key_share.save(update_fields=["submitted_share", "submitted_at"])
    audit_record(
        actor=actor,
        action="opening.share_submit",
        obj=key_share,
        after={"tender": tender.reference, "index": key_share.index, "role": key_share.role},
    )
    submitted = list(opening_key.shares.filter(submitted_at__isnull=False).order_by("index"))
    record = None
    if len(submitted) >= opening_key.threshold:
        record = _open_bids(tender, opening_key, submitted, actor)
    return {
        "tender": tender.reference,
        "shares_submitted": len(submitted),
        "threshold": opening_key.threshold,
        "opened": record is not None,
    }


def _reject(row: dict[str, Any], reason: str) -> None:
    row["result"], row["reason"] = "rejected", reason


class _Opener:
    """Opens one tender's bids with reused buffers (a fresh 1 MB allocation per bid costs about as
    much as decrypting it) and one certificate cache. While one bid is decrypted and verified, a
    worker thread reads the next envelope and checks its receipt digest (file reads and SHA-256
    release the GIL), so the integrity check costs almost nothing on a second core."""

    def __init__(self, tender: Tender, private_key: bytes, largest: int) -> None:
        self.tender, self.private_key = tender, private_key
        self.envelopes = (bytearray(largest), bytearray(largest))
        self.plaintext = bytearray(largest)
        self.certificates: dict[int, x509.Certificate] = {}

    def open_all(self, bids: list[Bid], verdicts: dict[int, Verdict]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if not bids:
            return rows
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="opening-read") as reader:
            ahead = reader.submit(self._load, bids[0], self.envelopes[0])
            for i, bid in enumerate(bids):
                loaded = ahead.result()
                if i + 1 < len(bids):
                    # The other buffer: the bid before this one is done with it.
                    ahead = reader.submit(self._load, bids[i + 1], self.envelopes[(i + 1) % 2])
                rows.append(self.open(bid, verdicts[bid.agency_id], loaded))
        return rows

    def _certificate(self, bid: Bid) -> x509.Certificate:
        assert bid.certificate is not None
        key = bid.certificate.pk
        if key not in self.certificates:
            self.certificates[key] = pki.certificate_load(bid.certificate.pem.encode())
        return self.certificates[key]

    @staticmethod
    def _load(bid: Bid, buffer: bytearray) -> memoryview | str:
        """The envelope as receipted, or why not (runs in the reader thread: files and hashing only)."""
        path = storage.stored_path(submission.PREFIX, bid.ciphertext_digest)
        view = memoryview(buffer)[: bid.ciphertext_size]
        try:
            with open(path, "rb") as f:
                if f.readinto(view) != bid.ciphertext_size or f.read(1):
                    return "投标文件缺失或不完整（平台存储故障），按撤回处理"
        except OSError:
            return "投标文件缺失或不完整（平台存储故障），按撤回处理"
        # The file must be the one receipted: a superseded envelope of the same agency would decrypt too.
        if hashlib.sha256(view).hexdigest() != bid.ciphertext_digest:
            return "存储的投标文件与回执摘要不符，按撤回处理"
        return view

    def open(self, bid: Bid, verdict: Verdict, envelope: memoryview | str) -> dict[str, Any]:
        """Decrypt and check one loaded bid; the row of the opening record for it."""
        tender, org = self.tender, bid.agency
        row: dict[str, Any] = {
            "bid": bid.pk,
            "agency": org.name,
            "uscc": org.uscc,
            "received_at": bid.received_at.isoformat(),
            "digest": bid.ciphertext_digest,
            "price": None,
            "duration_days": None,
            "signature": "not_checked",
            "result": "opened",
            "reason": "",
        }
        if isinstance(envelope, str):
            _reject(row, envelope)
            return row
        try:
            plaintext = crypto.open_sealed_into(
                envelope=envelope,
                recipient_private=self.private_key,
                associated=protocol.sealed_context(tender=tender.reference, agency=org.uscc),
                out=self.plaintext,
            )
        except crypto.CryptoError:
            _reject(row, "投标文件无法解密（投标人原因），视为撤销投标")
            return row
        if bid.certificate is None:
            _reject(row, "无签名证书")
            return row
        try:
            manifest = protocol.bid_verify(plaintext, self._certificate(bid))
        except crypto.CryptoError as exc:
            row["signature"] = "invalid"
            _reject(row, f"投标文件签名无效：{exc.detail_zh}")
            return row
        row["signature"] = "valid"
        form = manifest.get("form", {})
        if form.get("tender") != tender.reference or form.get("agency") != org.uscc:
            _reject(row, "投标函所载项目或投标人与本项目不符")
            return row
        try:
            price = Decimal(str(form.get("price")))
            duration = int(form.get("duration_days")) if form.get("duration_days") is not None else None
            if not price.is_finite() or price <= 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError, TypeError):
            _reject(row, "投标函报价或工期无法识别")
            return row
        row["price"], row["duration_days"] = str(price.quantize(Decimal("0.01"))), duration
        if not verdict:
            _reject(row, f"投标截止时不具备投标资格：{verdict.detail_zh}")
        return row


def _record_results(rows: list[dict[str, Any]], now: datetime) -> None:
    """Write every bid's result in one statement: a save() per bid cost as much as its decryption."""
    ops = connection.ops
    table = connection.ops.quote_name(Bid._meta.db_table)
    params = [
        (
            BidStatus.OPENED if r["result"] == "opened" else BidStatus.REJECTED,
            ops.adapt_datetimefield_value(now),
            r["signature"],
            r["reason"],
            ops.adapt_decimalfield_value(Decimal(r["price"]), 16, 2) if r["price"] else None,
            r["duration_days"],
            r["bid"],
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET status = %s, opened_at = %s, signature_status = %s, "  # noqa: S608 - no user input
            "result_reason = %s, price = %s, duration_days = %s WHERE id = %s",
            params,
        )


def _open_bids(tender: Tender, opening_key: OpeningKey, submitted: list[KeyShare], actor: User) -> OpeningRecord:
    threshold = opening_key.threshold
    private_key = crypto.combine_shares(
        [(s.index, bytes(s.submitted_share)) for s in submitted[:threshold]],
        t=threshold,
        expected_public=bytes.fromhex(opening_key.public_key),
    )
    now = clock.now()
    standing = list(
        Bid.objects.select_for_update(of=("self",))
        .select_related("agency", "certificate")
        .filter(tender=tender, status=BidStatus.SUBMITTED, received_at__lt=tender.bid_deadline)
        .order_by("received_at", "id")
    )
    # Eligibility is judged at the deadline, for every bidder in one go.
    verdicts = agencies_may({b.agency_id for b in standing}, RestrictedAction.BID, tender.bid_deadline)
    opener = _Opener(tender, private_key, max((b.ciphertext_size for b in standing), default=0))
    rows = opener.open_all(standing, verdicts)
    _record_results(rows, now)
    # The lottery's secret was sealed to the same key: revealed now, published at the draw.
    lottery_reveal_locked(tender, private_key)
    del opener, private_key
    record = {
        "type": protocol.OPENING_RECORD_TYPE,
        "tender": tender.reference,
        "title": tender.title,
        "suite": opening_key.suite,
        "opening_public_key": opening_key.public_key,
        "bid_deadline": tender.bid_deadline.isoformat(),
        "opened_at": now.isoformat(),
        "shares": [
            {"index": s.index, "role": s.role, "holder": s.holder.username, "submitted_at": s.submitted_at}
            for s in submitted
        ],
        "bids": rows,
    }
    record = to_jsonable(record)
    payload = protocol.opening_record_payload(record)
    signature = crypto.sign(platform_ca().key, payload)
    digest = hashlib.sha256(payload).hexdigest()
    opening = OpeningRecord.objects.create(
        tender=tender, record=record, digest=digest, signature=signature, created_at=now
    )
    tender.opened_at = now  # the caller holds the tender's lock
    tender.save(update_fields=["opened_at"])
    # The key has done its work: the shares submitted for it are erased.
    KeyShare.objects.filter(opening_key=opening_key).update(submitted_share=b"")
    lines = "\n".join(
        f"{i}. {r['agency']}（{r['uscc']}）报价：{r['price'] or '—'} 元；工期：{r['duration_days'] or '—'} 天；"
        f"{'有效' if r['result'] == 'opened' else '无效：' + r['reason']}"
        for i, r in enumerate(rows, 1)
    )
    notice_publish(
        tender=tender,
        kind=NoticeKind.OPENING_RECORD,
        title=f"{tender.title} 开标记录",
        actor=actor,
        body=(
            f"开标时间：{now.isoformat()}\n共 {len(rows)} 份投标文件。\n{lines or '无'}\n记录摘要（SHA-256）：{digest}"
        ),
        data={"record": record, "digest": digest, "signature": base64.b64encode(signature).decode()},
    )
    audit_record(
        actor=actor,
        action="tender.opening_record",
        obj=opening,
        after={"tender": tender.reference, "digest": digest, "bids": len(rows)},
    )
    return opening

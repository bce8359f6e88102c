"""The opening ceremony (开标, DOMAIN.md bids §4).

After the deadline, and not before, the key holders each fetch their wrapped share, decrypt it on
their own machine and submit it; under the bidder's-lock policy each bidder also releases the key
of its own inner layer. When the threshold is met (and every bidder has released, or the window
has ended) the tender's opening key is rebuilt in memory only; every standing bid is decrypted, its
inner signature verified and its bid form read; bids from agencies barred at the deadline,
undecryptable or badly signed are rejected with the reason, bids whose agency did not release its
key count as withdrawn. The opening record is canonical JSON signed by the platform, chained into
the audit trail and published as a notice. Whatever secrets the opening took in are erased when
it ends in any way (:func:`opening_secrets_erase_locked`).
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
from django.db.models import QuerySet

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
from core.permissions import organisation_id_of
from market.choices import NoticeKind, TenderStatus
from market.models import Tender
from market.rules import rules_of
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


_BEFORE_OPENING = frozenset({TenderStatus.DRAFT, TenderStatus.PENDING_REVIEW, TenderStatus.PUBLISHED})


def opening_in_progress_check(tender: Tender) -> None:
    """The one gate for every secret of the opening (a holder's wrapped share, a submitted share, a bidder's
    released key): it passes only while the tender is in the opening, after the deadline. Any ``t`` holders who
    had their shares earlier could read every bid early, so nothing is handed out or taken in before; and
    nothing after, when the opening is over or suspended. Callers check it before asking who the caller is,
    so every caller meets the refusals in the same order."""
    if tender.status == TenderStatus.OPENING:
        return
    before = tender.status in _BEFORE_OPENING or (
        tender.status == TenderStatus.SUSPENDED and tender.suspended_from in _BEFORE_OPENING
    )
    if before:
        raise ApplicationError(
            "opening_not_started",
            "The opening has not begun: key shares are handed out and taken in, and bidders release their keys, "
            "only after the bid deadline, during the opening.",
            "尚未开标：密钥分片的领取与提交、投标人解密，均须在投标截止、开标开始之后进行。",
            status=409,
        )
    raise ApplicationError(
        "not_opening",
        f"The tender is {tender.status}, not in its opening: nothing of the opening is handed out or taken in.",
        "项目当前不在开标解密阶段，不能领取或提交开标密钥。",
        status=409,
    )


def opening_share_fetch_locked(tender: Tender, *, actor: User) -> dict[str, Any]:
    """A key holder's wrapped share and what it is bound to, for the holder's client to decrypt, on a tender
    the caller has locked and caught up (``procurement.services.opening.opening_share_fetch``). Only during the
    opening; every download is audited."""
    opening_in_progress_check(tender)
    share = _holder_share(tender, actor)
    audit_record(
        actor=actor,
        action="opening.share_fetch",
        obj=share,
        after={
            "tender": tender.reference,
            "index": share.index,
            "role": share.role,
            "certificate": share.certificate.serial,
        },
    )
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


def _already_opened(tender: Tender) -> None:
    if OpeningRecord.objects.filter(tender=tender).exists():
        raise ApplicationError("already_opened", "The bids are already opened.", "本项目已完成开标。", status=409)


def opening_submit_share_locked(tender: Tender, *, actor: User, share: str) -> dict[str, Any]:
    """A key holder's decrypted share, submitted during the opening, on a tender the caller has
    locked and caught up (``procurement.services.opening.opening_submit_share``). The share that
    meets the threshold opens every bid in the same transaction (under the bidder's-lock policy,
    once every bidder has released its key too)."""
    opening_in_progress_check(tender)
    key_share = _holder_share(tender, actor, lock=True)
    opening_key = key_share.opening_key
    _already_opened(tender)
    if key_share.submitted_at is not None:
        raise ApplicationError("share_already_submitted", "Your share is already in.", "您的分片已提交。", status=409)
    raw = share_decode(share)
    if opening_key.shares.filter(submitted_at__isnull=False).count() >= opening_key.threshold:
        # More shares than needed would only be more secret material at rest.
        raise ApplicationError(
            "threshold_met",
            "Enough shares are already in; yours is not needed.",
            "已提交的分片已达门限，无需再提交。",
            status=409,
        )
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
    record = _open_if_ready(tender, opening_key, actor=actor, final=False)
    return {
        "tender": tender.reference,
        "shares_submitted": opening_key.shares.filter(submitted_at__isnull=False).count(),
        "threshold": opening_key.threshold,
        "opened": record is not None,
    }


def _standing(tender: Tender) -> QuerySet[Bid]:
    """The bids the opening opens: still submitted, received before the deadline."""
    return Bid.objects.filter(tender=tender, status=BidStatus.SUBMITTED, received_at__lt=tender.bid_deadline)


def bid_release_locked(tender: Tender, *, actor: User, bid_id: int, layer_key: str) -> Bid:
    """A bidder releases its own lock (投标人解密) during the opening, on a tender the caller has locked and
    caught up (``procurement.services.opening.bid_release``): the private half of the layer key its bid was
    sealed to, checked against the public half it signed at submission. Held only until the opening ends. The
    release that completes the last missing piece opens every bid in the same transaction."""
    opening_in_progress_check(tender)
    bid = (
        _standing(tender).select_for_update(of=("self",)).filter(pk=bid_id, agency_id=organisation_id_of(actor)).first()
    )
    if bid is None:
        raise NotFound("You have no standing bid with this id on this tender.", "本项目中没有您的该份有效投标。")
    _already_opened(tender)
    if not bid.layer_public:
        raise ApplicationError(
            "no_bidder_lock",
            "This bid is sealed to the opening key alone: there is nothing for you to release.",
            "本投标文件仅以开标公钥加密，无需投标人解密。",
            status=409,
        )
    if bid.layer_released_at is not None:
        raise ApplicationError("already_released", "Your key is already in.", "您已提交投标人解密密钥。", status=409)
    try:
        raw = base64.b64decode(layer_key, validate=True)
        matches = crypto.opening_public(raw).hex() == bid.layer_public
    except (ValueError, crypto.CryptoError):
        matches = False
    if not matches:
        raise ApplicationError(
            "layer_key_mismatch",
            "This is not the key your bid was sealed to (its public half differs from the one you signed).",
            "该密钥与投标时签名提交的解密公钥不符。",
        )
    bid.layer_key, bid.layer_released_at = raw, clock.now()
    bid.save(update_fields=["layer_key", "layer_released_at"])
    audit_record(
        actor=actor,
        action="bid.layer_release",
        obj=bid,
        after={"tender": tender.reference, "bid": bid.pk, "layer_public": bid.layer_public},
    )
    _open_if_ready(tender, tender.opening_key, actor=actor, final=False)  # type: ignore[attr-defined]
    bid.refresh_from_db()
    return bid


def opening_at_window_end_locked(tender: Tender) -> bool:
    """The decryption window ended (the clock, on a locked tender): when the holders' shares are in, open now;
    bids whose agency did not release its lock count as withdrawn. Returns whether the bids are opened."""
    try:
        opening_key = tender.opening_key  # type: ignore[attr-defined]
    except OpeningKey.DoesNotExist:
        return False
    _open_if_ready(tender, opening_key, actor=None, final=True)
    return OpeningRecord.objects.filter(tender=tender).exists()


def opening_secrets_erase_locked(tender: Tender, *, resumable: bool, actor: User | None = None) -> int:
    """Erase every secret the opening took in (the holders' submitted shares, the bidders' released keys) on a
    tender the caller has locked, when it leaves the opening in any way: opened, failed, cancelled, suspended.
    They exist only while the tender is in its opening. With ``resumable`` (a suspension) the holders and
    bidders submit again after it resumes. Returns how many rows held a secret; safe to run twice."""
    holding_shares = KeyShare.objects.filter(opening_key__tender=tender).exclude(submitted_share=b"")
    holding_keys = Bid.objects.filter(tender=tender).exclude(layer_key=b"")
    erased = holding_shares.count() + holding_keys.count()
    if resumable:
        KeyShare.objects.filter(opening_key__tender=tender, submitted_at__isnull=False).update(
            submitted_share=b"", submitted_at=None
        )
        Bid.objects.filter(tender=tender, layer_released_at__isnull=False).update(layer_key=b"", layer_released_at=None)
    else:
        holding_shares.update(submitted_share=b"")
        holding_keys.update(layer_key=b"")
    if erased:
        audit_record(
            actor=actor,
            action="opening.secrets_erase",
            obj=tender,
            after={"tender": tender.reference, "status": tender.status, "rows": erased, "resumable": resumable},
        )
    return erased


def _open_if_ready(tender: Tender, opening_key: OpeningKey, *, actor: User | None, final: bool) -> OpeningRecord | None:
    """Open the bids when every piece is in: the threshold of holders' shares and, under the bidder's-lock
    policy, every standing bid's released key (or, with ``final`` at the window's end, whichever are in)."""
    if OpeningRecord.objects.filter(tender=tender).exists():
        return None
    submitted = list(opening_key.shares.filter(submitted_at__isnull=False).order_by("index"))
    if len(submitted) < opening_key.threshold:
        return None
    if not final and _standing(tender).exclude(layer_public="").filter(layer_released_at__isnull=True).exists():
        return None
    return _open_bids(tender, opening_key, submitted, actor)


def _reject(row: dict[str, Any], reason: str) -> None:
    row["result"], row["reason"] = "rejected", reason


class _Opener:
    """Opens one tender's bids with reused buffers (a fresh 1 MB allocation per bid costs about as
    much as decrypting it) and one certificate cache. While one bid is decrypted and verified, a
    worker thread reads the next envelope and checks its receipt digest (file reads and SHA-256
    release the GIL), so the integrity check costs almost nothing on a second core."""

    def __init__(self, tender: Tender, private_key: bytes, largest: int, *, layered: bool) -> None:
        self.tender, self.private_key = tender, private_key
        self.envelopes = (bytearray(largest), bytearray(largest))
        self.plaintext = bytearray(largest)
        # The bidder's-lock policy: the outer plaintext is itself an envelope, opened into a second buffer.
        self.inner = bytearray(largest if layered else 0)
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
        if bid.layer_public:
            row["bidder_released_at"] = bid.layer_released_at.isoformat() if bid.layer_released_at else None
            if not bid.layer_key:
                # 电子招标投标办法 §31: not decrypted in time through the bidder's own act: withdrawn.
                row["result"], row["reason"] = "withdrawn", "投标人未在解密时限内解密投标文件，视为撤回投标"
                return row
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
            if bid.layer_public:
                plaintext = crypto.open_sealed_into(
                    envelope=plaintext,
                    recipient_private=bytes(bid.layer_key),
                    associated=protocol.layer_context(tender=tender.reference, agency=org.uscc),
                    out=self.inner,
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
    status = {"opened": BidStatus.OPENED, "withdrawn": BidStatus.WITHDRAWN}
    stamp = ops.adapt_datetimefield_value(now)
    params = [
        (
            status.get(r["result"], BidStatus.REJECTED),
            None if r["result"] == "withdrawn" else stamp,
            stamp if r["result"] == "withdrawn" else None,
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
            f"UPDATE {table} SET status = %s, opened_at = %s, withdrawn_at = %s, signature_status = %s, "  # noqa: S608  # nosec B608  # no user input: a model's table
            "result_reason = %s, price = %s, duration_days = %s WHERE id = %s",
            params,
        )


def _open_bids(tender: Tender, opening_key: OpeningKey, submitted: list[KeyShare], actor: User | None) -> OpeningRecord:
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
    policy = rules_of(tender).opening_policy
    opener = _Opener(
        tender,
        private_key,
        max((b.ciphertext_size for b in standing), default=0),
        layered=any(b.layer_public for b in standing),
    )
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
        "policy": policy,
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
    # The key has done its work: the shares and the bidders' keys submitted for it are erased.
    opening_secrets_erase_locked(tender, resumable=False, actor=actor)
    lines = "\n".join(
        f"{i}. {r['agency']}（{r['uscc']}）报价：{r['price'] or '—'} 元；工期：{r['duration_days'] or '—'} 天；"
        f"{'有效' if r['result'] == 'opened' else ('撤回：' if r['result'] == 'withdrawn' else '无效：') + r['reason']}"
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

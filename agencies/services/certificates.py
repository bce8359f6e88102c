"""Certificates: an agency's bid-signing key and an opening-key holder's key, each bound by the
platform CA to who holds it. The client makes the key and the request; the server never sees a
private key, only the certificate signing request (CSR), which proves possession of the key.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from agencies import pki
from agencies.ca import platform_ca
from agencies.choices import AdmissionStatus, CertificatePurpose, RevocationReason
from agencies.locks import lock_agency
from agencies.models import Agency, Certificate
from core import clock
from core.audit import audit_record
from core.errors import ApplicationError, NotFound, require_reason
from core.permissions import Action, Role, can, organisation_id_of, require

MAX_CSR_BYTES = 16 * 1024


def _pki_error(exc: pki.PkiError, status: int = 400) -> ApplicationError:
    return ApplicationError(exc.code, exc.detail, exc.detail_zh, status=status)


def _csr(data: bytes | str) -> x509.CertificateSigningRequest:
    raw = data.encode() if isinstance(data, str) else data
    try:
        return pki.csr_load(raw)
    except pki.PkiError as exc:
        raise _pki_error(exc) from None


def certificate_snapshot(cert: Certificate) -> dict[str, object]:
    return {
        "serial": cert.serial,
        "purpose": cert.purpose,
        "organisation": cert.organisation.uscc,
        "holder": cert.holder.username if cert.holder else None,
        "fingerprint": cert.fingerprint,
        "not_before": cert.not_before,
        "not_after": cert.not_after,
        "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason,
    }


def _issue(
    *, actor: User, csr: x509.CertificateSigningRequest, purpose: str, subject: pki.Subject, holder: User | None
) -> Certificate:
    """Issue and store (the caller holds the owner's lock and has checked the CSR's subject)."""
    fingerprint = pki.public_key_fingerprint(csr.public_key())
    if Certificate.objects.filter(fingerprint=fingerprint, revocation_reason=RevocationReason.KEY_COMPROMISE).exists():
        raise ApplicationError(
            "key_compromised",
            "This public key was reported compromised; make a new key.",
            "该公钥已报告泄露，请重新生成密钥。",
            status=409,
        )
    if Certificate.objects.filter(fingerprint=fingerprint).exclude(organisation_id=organisation_id_of(actor)).exists():
        raise ApplicationError(
            "key_in_use",
            "This public key is already certified for another organisation; make a new key.",
            "该公钥已为其他机构签发证书，请重新生成密钥。",
            status=409,
        )
    now = clock.now()
    serial = secrets.randbits(126) | (1 << 126)  # positive, fixed length, unguessable
    ca = platform_ca()
    # Never outlive the CA that vouches for the certificate.
    not_after = min(now + timedelta(days=settings.AGORA_CERTIFICATE_DAYS), ca.certificate.not_valid_after_utc)
    try:
        cert = pki.certificate_issue(
            ca,
            csr,
            subject=subject,
            purpose=pki.Purpose(purpose),
            serial=serial,
            not_before=now,
            not_after=not_after,
        )
    except pki.PkiError as exc:
        raise _pki_error(exc) from None
    row = Certificate.objects.create(
        organisation_id=organisation_id_of(actor),
        holder=holder,
        purpose=purpose,
        serial=format(serial, "x"),
        pem=pki.certificate_pem(cert),
        fingerprint=fingerprint,
        key_kind=pki.key_kind(csr.public_key()),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        requested_by=actor,
        issued_at=now,
    )
    audit_record(actor=actor, action="certificate.issue", obj=row, after=certificate_snapshot(row))
    return row


def _subject_mismatch(what_en: str, what_zh: str) -> ApplicationError:
    return ApplicationError(
        "csr_subject_mismatch",
        f"The request names {what_en}; request a certificate only for yourself.",
        f"证书请求中的{what_zh}与您的账户不符。",
        fields={"csr": ["subject mismatch"]},
    )


def _valid_signing_certificates(organisation_id: int, at: datetime) -> QuerySet[Certificate]:
    return Certificate.objects.filter(
        organisation_id=organisation_id,
        purpose=CertificatePurpose.SIGNING,
        revoked_at__isnull=True,
        not_before__lte=at,
        not_after__gt=at,
    )


def _endorsement_check(
    *, org_id: int, uscc: str, request: x509.CertificateSigningRequest, endorsement: str, endorsing_serial: str
) -> str:
    """While the agency holds a valid signing certificate, a new key is certified only with an endorsement signed by
    that certificate's key (:func:`agencies.pki.rollover_payload`): a login alone, such as an administrator's who
    reset the agency's password, cannot get a key of its own certified and then sign in the agency's name. A lost
    key is revoked by an operator first. Returns the endorsing serial ("" for a first certificate)."""
    now = clock.now()
    valid = _valid_signing_certificates(org_id, now)
    if not valid.exists():
        return ""
    endorsing = valid.filter(serial=(endorsing_serial or "").lower()).first()
    if endorsing is None or not endorsement:
        raise ApplicationError(
            "certificate_endorsement_required",
            "Your agency already holds a valid signing certificate: sign the new request with its key "
            "(the client's request-certificate --endorse-key/--endorse-certificate). If that key is lost, an "
            "operator revokes its certificate first, after checking who you are.",
            "本机构已持有有效的签名证书：新的证书请求须以现有证书的私钥签名认可。如私钥遗失，请先由交易中心工作人员核验身份后吊销原证书。",
            status=409,
        )
    payload = pki.rollover_payload(subject=uscc, csr_sha256=pki.csr_digest(request), certificate=endorsing.serial)
    signature_check(certificate=endorsing, data=payload, signature=signature_decode(endorsement), at=now)
    return str(endorsing.serial)


def certificate_request(
    *, actor: User, csr: bytes | str, endorsement: str = "", endorsing_certificate: str = ""
) -> Certificate:
    """An admitted agency asks for a bid-signing certificate. The CSR's subject must carry the
    agency's own USCC (organizationIdentifier); the issued subject is built from our records. While it holds a
    valid one, the request must be endorsed by that certificate's key (:func:`_endorsement_check`)."""
    require(actor, Action.CERTIFICATE_REQUEST)
    request = _csr(csr)
    uscc, _username = pki.csr_subject(request)
    agency_id = Agency.objects.filter(organisation_id=organisation_id_of(actor)).values_list("pk", flat=True).first()
    if agency_id is None:
        raise NotFound("Your organisation has no agency profile.", "您的机构尚无中介机构档案。")
    with transaction.atomic():
        agency = lock_agency(agency_id)
        org = agency.organisation
        if agency.status != AdmissionStatus.ADMITTED:
            raise ApplicationError(
                "agency_not_admitted",
                "Only an admitted agency can obtain a signing certificate.",
                "只有已入驻的机构可以申请签名证书。",
                status=409,
            )
        if uscc is None:
            raise ApplicationError(
                "csr_uscc_missing",
                "The request must carry your USCC as organizationIdentifier (2.5.4.97).",
                "证书请求须包含本机构统一社会信用代码（organizationIdentifier）。",
                fields={"csr": ["organizationIdentifier missing"]},
            )
        if uscc != org.uscc:
            raise _subject_mismatch("another organisation's USCC", "统一社会信用代码")
        _endorsement_check(
            org_id=org.pk,
            uscc=org.uscc,
            request=request,
            endorsement=endorsement,
            endorsing_serial=endorsing_certificate,
        )
        return _issue(
            actor=actor,
            csr=request,
            purpose=CertificatePurpose.SIGNING,
            subject=pki.Subject(organisation_name=org.name, uscc=org.uscc),
            holder=None,
        )


def key_holder_register(*, actor: User, csr: bytes | str) -> Certificate:
    """A purchaser, supervisor or trading-centre user registers the key its opening-key shares
    will be encrypted to (ECDSA P-256). The CSR names the user (UID) and its organisation's USCC."""
    require(actor, Action.KEY_HOLDER_REGISTER)
    request = _csr(csr)
    uscc, username = pki.csr_subject(request)
    org = actor.organisation
    if org is None:  # pragma: no cover - every user with a role has an organisation
        raise NotFound()
    if uscc != org.uscc:
        raise _subject_mismatch("another organisation's USCC", "统一社会信用代码")
    if username != actor.get_username():
        raise _subject_mismatch("another user", "用户名")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=actor.pk)
        return _issue(
            actor=actor,
            csr=request,
            purpose=CertificatePurpose.KEY_HOLDER,
            subject=pki.Subject(organisation_name=org.name, uscc=org.uscc, username=actor.get_username()),
            holder=actor,
        )


def revoke_locked(cert: Certificate, *, actor: User, reason: str, note: str) -> Certificate:
    """Revoke a certificate whose owner the caller has locked."""
    before = certificate_snapshot(cert)
    cert.revoked_at = clock.now()
    cert.revocation_reason = reason
    cert.revocation_note = note
    cert.revoked_by = actor
    cert.save(update_fields=["revoked_at", "revocation_reason", "revocation_note", "revoked_by"])
    audit_record(actor=actor, action="certificate.revoke", obj=cert, before=before, after=certificate_snapshot(cert))
    return cert


def certificate_revoke(*, actor: User, serial: str, reason: str, note: str = "", signature: str = "") -> Certificate:
    """Revoke with a reason: the owner (its agency, or the key holder itself) or an operator.
    Signatures made after the revocation time are refused; earlier ones still verify. An agency revoking its own
    signing certificate signs :func:`agencies.pki.revocation_payload` with its key, so a login alone cannot clear
    the way for a key of its own (a lost key is revoked by an operator, who checks who is asking)."""
    if reason not in RevocationReason.values:
        raise ApplicationError(
            "revocation_reason_unknown",
            f"Reason must be one of {RevocationReason.values}.",
            "吊销原因无效。",
            fields={"reason": ["unknown"]},
        )
    if reason == RevocationReason.UNSPECIFIED:
        note = require_reason(note, "Revoking a certificate without a coded reason", "吊销证书")
    with transaction.atomic():
        cert = (
            # Lock the certificate row only: PostgreSQL cannot lock the nullable side of the holder join.
            Certificate.objects.select_for_update(of=("self",))
            .select_related("organisation", "holder")
            .filter(serial=serial)
            .first()
        )
        if cert is None:
            raise NotFound("No such certificate.", "证书不存在。")
        own = cert.organisation_id == actor.organisation_id and (
            (cert.holder_id is None and actor.role == Role.AGENCY) or cert.holder_id == actor.pk
        )
        if not own and not can(actor, Action.CERTIFICATE_REVOKE_ANY):
            raise NotFound("No such certificate.", "证书不存在。")
        if own and cert.purpose == CertificatePurpose.SIGNING and not can(actor, Action.CERTIFICATE_REVOKE_ANY):
            try:
                pki.signature_verify(
                    pki.certificate_load(cert.pem.encode()),
                    pki.revocation_payload(serial=cert.serial, reason=reason),
                    signature_decode(signature),
                )
            except pki.PkiError:
                raise ApplicationError(
                    "revocation_signature_required",
                    "Sign the revocation with the certificate's own key; if the key is lost, ask an operator.",
                    "请以该证书的私钥签名吊销请求；如私钥遗失，请联系交易中心工作人员。",
                ) from None
        if cert.revoked_at is not None:
            raise ApplicationError(
                "already_revoked", "This certificate is already revoked.", "该证书已吊销。", status=409
            )
        return revoke_locked(cert, actor=actor, reason=reason, note=note.strip())


def signature_check(*, certificate: Certificate, data: bytes, signature: bytes, at: datetime) -> None:
    """Verify ``signature`` over ``data`` with a certificate the platform issued, as of ``at``:
    issued by our CA, inside its validity, not revoked at ``at``, and the signature itself.
    Raises a 400 ``ApplicationError`` with the precise reason otherwise."""
    if certificate.revoked_at is not None and certificate.revoked_at <= at:
        raise ApplicationError(
            "certificate_revoked",
            f"The certificate was revoked at {certificate.revoked_at.isoformat()}.",
            "签名证书已被吊销。",
        )
    try:
        cert = pki.certificate_load(certificate.pem.encode())
        pki.certificate_check(platform_ca().certificate, cert, at=at)
        pki.signature_verify(cert, data, signature)
    except pki.PkiError as exc:
        raise _pki_error(exc) from None


def signing_certificate_of(*, organisation_id: int, serial: str) -> Certificate:
    """The agency's signing certificate with this serial, whatever its state (``signature_check`` judges that at
    the moment of use); 400 ``certificate_unknown`` when the agency has none by that serial."""
    cert = Certificate.objects.filter(
        serial=(serial or "").lower(), organisation_id=organisation_id, purpose=CertificatePurpose.SIGNING
    ).first()
    if cert is None:
        raise ApplicationError(
            "certificate_unknown",
            "No signing certificate of yours has this serial.",
            "未找到本机构该序列号的签名证书。",
        )
    return cert


def signature_decode(signature_b64: str) -> bytes:
    """A base64 signature as bytes; 400 ``signature_invalid`` when it is not base64."""
    try:
        return base64.b64decode(signature_b64, validate=True)
    except ValueError:
        raise ApplicationError(
            "signature_invalid", "The signature is not base64.", "签名格式错误（须为 base64）。"
        ) from None

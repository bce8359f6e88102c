"""``python -m bidding.client``: the agency's command-line client (docs/client.md).

It makes the agency's key and certificate request, builds a bid from a bid form and document files, signs and
seals it, submits and withdraws it, and verifies the signed receipt, against the platform's API. The private key
stays in a local file and in this process's memory: nothing derived from it but public keys, CSRs and signatures
is ever sent. Every command is also callable in-process as ``main([...])``, which returns the exit status:
0 done, 1 refused (the reason printed as ``code: detail / detail_zh``), 2 wrong usage, 3 the network or the server
failed (connection lost or refused, answer cut off, timeout, 502/503/504): try again.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import os
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cryptography import x509

from agencies import pki
from bidding import crypto, lottery, protocol
from bidding.client import files, steps
from bidding.client.api import DEFAULT_SERVER, DEFAULT_TIMEOUT, Api, ClientError, Upload

SIGNATURE_TYPE = "agora/client-submission/v1"
IDEMPOTENCY_KEY_MAX = 64  # the API's limit
_CENT = Decimal("0.01")


def _say(*lines: str) -> None:
    for line in lines:
        print(line)


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr)


def _refusal(code: str, detail: str, detail_zh: str) -> ClientError:
    return ClientError(code, detail, detail_zh)


# --- configuration ---------------------------------------------------------------------------------------------


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return str(args.token).strip()
    token_file = args.token_file or os.environ.get("AGORA_TOKEN_FILE")
    if token_file:
        return files.read_bytes(token_file).decode("utf-8", errors="replace").strip()
    return os.environ.get("AGORA_TOKEN", "").strip() or None


def _api(args: argparse.Namespace, *, with_token: bool = True) -> Api:
    server = args.server or os.environ.get("AGORA_SERVER") or DEFAULT_SERVER
    api = Api(server, _token(args) if with_token else None, timeout=args.timeout)
    if api.token and api.insecure:
        _warn(f"the API token is sent to {api.base} without encryption; use https:// for a remote server.")
    return api


# --- what the platform says ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderKey:
    """What a bid for one tender is sealed and signed for, read from its published tender notice."""

    tender_id: int
    reference: str
    public_key: bytes
    suite: str
    # "threshold_and_bidder": each bid is also sealed to a key only this agency holds (released at the opening).
    policy: str = "threshold"

    @property
    def bidder_lock(self) -> bool:
        return self.policy == "threshold_and_bidder"


def tender_key(api: Api, tender_id: int) -> TenderKey:
    """The tender notice's reference and opening public key (notices are public and never edited)."""
    for notice in api.pages(f"/api/tenders/{tender_id}/notices/", auth=False):
        if notice.get("kind") != "tender":
            continue
        data = notice.get("data") or {}
        opening = data.get("opening_key") or {}
        reference, public_hex, suite = data.get("reference"), opening.get("public_key"), opening.get("suite")
        try:
            public = bytes.fromhex(public_hex) if isinstance(public_hex, str) else b""
        except ValueError:
            public = b""
        if not isinstance(reference, str) or not reference or len(public) != 32 or not isinstance(suite, str):
            raise _refusal(
                "notice_invalid",
                f"Tender {tender_id}'s notice carries no usable opening key.",
                f"招标项目 {tender_id} 的招标公告中没有可用的开标公钥。",
            )
        policy = str(opening.get("policy") or "threshold")
        return TenderKey(tender_id=tender_id, reference=reference, public_key=public, suite=suite, policy=policy)
    raise _refusal(
        "tender_not_published",
        f"Tender {tender_id} has no tender notice: it is not published and takes no bids.",
        f"招标项目 {tender_id} 尚无招标公告：未发布的项目不接受投标。",
    )


def own_agency(api: Api) -> tuple[str, str]:
    """The caller's agency: (name, USCC)."""
    me = api.get_json("/api/agencies/me/")
    if not isinstance(me, dict) or not me.get("name") or not me.get("uscc"):
        raise _refusal("response_invalid", "The server did not describe your agency.", "服务器没有返回本机构信息。")
    return str(me["name"]), str(me["uscc"])


def _certificate_for(key: pki.PrivateKey, cert_path: str, uscc: str) -> tuple[x509.Certificate, str]:
    certificate = files.certificate_load(cert_path)
    files.certificate_matches(certificate, key, path=cert_path)
    if pki.certificate_uscc(certificate) != uscc:
        raise _refusal(
            "certificate_not_yours",
            f"The certificate {cert_path} is not issued to your agency (USCC {uscc}).",
            f"证书 {cert_path} 不是签发给本机构（统一社会信用代码 {uscc}）的。",
        )
    return certificate, files.certificate_serial(certificate)


def ca_certificate(api: Api | None, ca_path: str | None) -> x509.Certificate:
    """The trust anchor: a local copy of the CA certificate (offline), or the platform's published one."""
    if ca_path:
        return files.certificate_load(ca_path)
    assert api is not None
    try:
        return pki.certificate_load(api.get_text("/api/public/ca/").encode())
    except pki.PkiError:
        raise _refusal(
            "ca_unavailable",
            "The server did not return a CA certificate.",
            "服务器没有返回平台 CA 证书。",
        ) from None


# --- commands --------------------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    api = _api(args, with_token=False)
    username = args.username or os.environ.get("AGORA_USERNAME") or input("Username (用户名): ").strip()
    password = args.password or os.environ.get("AGORA_PASSWORD") or getpass.getpass("Password (密码): ")
    try:
        answer = api.post_json("/api/auth/token/", {"username": username, "password": password}, auth=False)
    except ClientError as exc:
        if exc.code == "invalid" and isinstance(exc.fields, dict) and "non_field_errors" in exc.fields:
            raise _refusal("login_failed", "Wrong username or password.", "用户名或密码错误。") from None
        raise
    token = str(answer.get("token", "")) if isinstance(answer, dict) else ""
    if not token:
        raise _refusal("response_invalid", "The server returned no token.", "服务器没有返回令牌。")
    if args.out:
        files.write_replace(args.out, (token + "\n").encode(), private=True)
        _say(f"Token for {username} written to {args.out} (mode 600); pass --token-file {args.out}.")
    else:
        _say(token)
    return 0


def cmd_tenders(args: argparse.Namespace) -> int:
    """The published tenders (open for bids until their deadline): id, reference, category, deadline, title."""
    api = _api(args, with_token=False)
    params = {"status": "published", **({"category": args.category} if args.category else {})}
    query = "?" + urllib.parse.urlencode(params)
    found = 0
    for tender in api.pages(f"/api/tenders/{query}", auth=False):
        found += 1
        _say(
            f"{tender.get('id'):>6}  {tender.get('reference')}  {tender.get('category')}  "
            f"closes {tender.get('bid_deadline')}  {tender.get('title')}"
        )
    if not found:
        _say("No tender is open for bids.")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    files.refuse_existing(args.out)
    passphrase = files.new_passphrase() if args.encrypt else None
    key = files.key_generate(args.kind)
    files.write_new(args.out, files.key_pem(key, passphrase), private=True)
    _say(
        f"Private key ({files.KINDS[args.kind]}) written to {args.out} (mode 600"
        + (", encrypted" if passphrase else "")
        + "). Keep it on this machine; it is never sent anywhere.",
        f"Public key fingerprint (SHA-256 of the SubjectPublicKeyInfo): {pki.public_key_fingerprint(key.public_key())}",
    )
    return 0


def _save_certificate(answer: Any, key: pki.PrivateKey, out: Path) -> None:
    pem = str(answer.get("pem", "")) if isinstance(answer, dict) else ""
    try:
        certificate = pki.certificate_load(pem.encode())
    except pki.PkiError:
        raise _refusal("response_invalid", "The server returned no certificate.", "服务器没有返回证书。") from None
    files.certificate_matches(certificate, key, path="returned by the server")
    files.write_new(out, pem.encode(), private=False)
    _say(
        f"Certificate {answer.get('serial')} ({answer.get('purpose')}, {answer.get('key_kind')}) "
        f"for {answer.get('organisation')} ({answer.get('uscc')}), valid until {answer.get('not_after')}.",
        f"Written to {out}.",
    )


def cmd_request_certificate(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else files.default_certificate_path(args.key)
    files.refuse_existing(out)
    key = files.key_load(args.key)
    api = _api(args)
    name, uscc = own_agency(api)
    csr = pki.csr_make(key, pki.Subject(organisation_name=name, uscc=uscc))
    body = {"csr": csr.decode("ascii")}
    if bool(args.endorse_key) != bool(args.endorse_certificate):
        raise _refusal(
            "arguments_invalid",
            "--endorse-key and --endorse-certificate go together.",
            "--endorse-key 与 --endorse-certificate 须同时提供。",
        )
    if args.endorse_key:
        # A new key while the current one is valid: the current key vouches for it (key rollover).
        current_key = files.key_load(args.endorse_key)
        _, serial = _certificate_for(current_key, args.endorse_certificate, uscc)
        payload = pki.rollover_payload(subject=uscc, csr_sha256=pki.csr_digest(pki.csr_load(csr)), certificate=serial)
        body["endorsement"] = base64.b64encode(pki.sign(current_key, payload)).decode()
        body["endorsing_certificate"] = serial
    answer = api.post_json("/api/agencies/me/certificates/", body)
    _save_certificate(answer, key, out)
    return 0


def cmd_register_key_holder(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else files.default_certificate_path(args.key)
    files.refuse_existing(out)
    key = files.key_load(args.key)
    if files.key_kind(key) != pki.KEY_P256:
        raise _refusal(
            "key_unsupported",
            "An opening-key holder's key must be ECDSA P-256 (keygen --kind p256), so that key shares can be "
            "encrypted to it.",
            "开标密钥持有人的密钥必须是 ECDSA P-256（keygen --kind p256），以便将密钥分片加密给持有人。",
        )
    api = _api(args)
    me = api.get_json("/api/me/")
    if not isinstance(me, dict):
        raise _refusal("response_invalid", "The server did not describe your account.", "服务器没有返回账户信息。")
    organisation = me.get("organisation") or {}
    username, org_name = str(me.get("username", "")), str(organisation.get("name", ""))
    uscc = args.uscc or str(organisation.get("uscc", ""))
    if not uscc:
        raise _refusal(
            "uscc_required",
            "Your account belongs to no organisation with a unified social credit code; give it with --uscc.",
            "账户未关联具有统一社会信用代码的单位，请用 --uscc 提供。",
        )
    csr = pki.csr_make(key, pki.Subject(organisation_name=org_name, uscc=uscc, username=username))
    answer = api.post_json("/api/keys/", {"csr": csr.decode("ascii")})
    _save_certificate(answer, key, out)
    return 0


def _price(value: Any) -> str:
    try:
        price = Decimal(str(value)) if isinstance(value, int | str | Decimal) and not isinstance(value, bool) else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price <= 0 or price != price.quantize(_CENT):
        raise _refusal(
            "form_invalid",
            'The bid form\'s price must be a positive amount in yuan with at most two decimals, e.g. "98000.00".',
            '投标函的报价须为正数金额（元），最多两位小数，例如 "98000.00"。',
        )
    return str(price.quantize(_CENT))


def bid_form(raw: Any, *, reference: str, uscc: str) -> dict[str, Any]:
    """Check the bid form (price, duration_days, commitments, any other fields) and bind it to the tender and
    the agency. The price becomes a string with two decimals, never a float."""
    if not isinstance(raw, dict):
        raise _refusal("form_invalid", "The bid form must be a JSON object.", "投标函须为 JSON 对象。")
    form = dict(raw)
    for field, value in (("tender", reference), ("agency", uscc)):
        if form.get(field, value) != value:
            raise _refusal(
                "form_mismatch",
                f"The bid form names {field} {form[field]!r}, but this bid is for {value!r}.",
                f"投标函中的 {field} 为 {form[field]!r}，与本次投标的 {value!r} 不符。",
            )
        form[field] = value
    if "price" not in form:
        raise _refusal("form_invalid", "The bid form has no price.", "投标函缺少报价（price）。")
    form["price"] = _price(form["price"])
    days = form.get("duration_days")
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise _refusal(
            "form_invalid",
            "The bid form's duration_days must be a positive whole number of days.",
            "投标函的服务期限（duration_days）须为正整数天数。",
        )
    commitments = form.setdefault("commitments", [])
    if not isinstance(commitments, list) or not all(isinstance(c, str) and c.strip() for c in commitments):
        raise _refusal(
            "form_invalid",
            "The bid form's commitments must be a list of non-empty texts.",
            "投标函的承诺事项（commitments）须为非空文本的列表。",
        )
    try:
        crypto.signed_payload(form)
    except crypto.CryptoError:
        raise _refusal(
            "form_invalid", "The bid form holds values JSON cannot carry.", "投标函包含无法写成 JSON 的值。"
        ) from None
    return form


def _documents(paths: Sequence[str]) -> list[tuple[str, bytes]]:
    documents: list[tuple[str, bytes]] = []
    for path in paths:
        name = Path(path).name
        if name in {n for n, _ in documents}:
            raise _refusal(
                "document_duplicate",
                f"Two documents are named {name!r}; rename one.",
                f"有两个附件都名为 {name!r}，请重命名其一。",
            )
        documents.append((name, files.read_bytes(path)))
    return documents


def _signature_path(bid_path: str | Path) -> Path:
    return Path(f"{bid_path}.sig")


def _layer_key_path(bid_path: str | Path) -> Path:
    return Path(f"{bid_path}.layer-key.json")


def cmd_build(args: argparse.Namespace) -> int:
    signature_out = Path(args.signature_out) if args.signature_out else _signature_path(args.out)
    layer_out = _layer_key_path(args.out)
    files.refuse_existing(args.out)
    files.refuse_existing(signature_out)
    files.refuse_existing(layer_out)
    key = files.key_load(args.key)
    raw_form = files.read_json(args.form, what="bid form", what_zh="投标函")
    documents = _documents(args.doc or [])
    api = _api(args)
    _, uscc = own_agency(api)
    certificate, serial = _certificate_for(key, args.certificate, uscc)
    tender = tender_key(api, args.tender)
    detail = api.get_json(f"/api/tenders/{tender.tender_id}/", auth=False)
    deadline = detail.get("bid_deadline") if isinstance(detail, dict) else None
    if isinstance(detail, dict) and not detail.get("accepting_bids"):
        # The server decides at submission; a suspended tender may resume, so this is only a warning.
        _warn(
            f"tender {tender.tender_id} is {detail.get('status')} and takes no bids now (deadline {deadline}); "
            "the server will refuse this bid unless that changes."
        )
    form = bid_form(raw_form, reference=tender.reference, uscc=uscc)

    plaintext = steps.sign_bid(form=form, documents=documents, certificate=serial, private_key=key)
    protocol.bid_verify(plaintext, certificate)  # what the opening will check, checked before it leaves
    layer_private, layer_public = steps.layer_keypair() if tender.bidder_lock else (b"", b"")
    envelope = steps.seal_bid(
        plaintext,
        opening_public=tender.public_key,
        tender=tender.reference,
        agency=uscc,
        suite=tender.suite,
        layer_public=layer_public or None,
    )
    digest, signature = steps.submission_signature(
        envelope,
        tender=tender.reference,
        agency=uscc,
        certificate=serial,
        private_key=key,
        layer_public=layer_public.hex(),
    )
    if layer_private:
        # Without this file the bid cannot be opened: it is written first, and kept until the opening.
        files.write_json(
            layer_out,
            steps.layer_key_record(
                tender_id=tender.tender_id,
                tender=tender.reference,
                agency=uscc,
                digest=digest,
                layer_public=layer_public,
                layer_private=layer_private,
            ),
            private=True,
            new=True,
        )
    try:
        files.write_new(args.out, envelope, private=True)
    except BaseException:
        layer_out.unlink(missing_ok=True)
        raise
    try:
        files.write_json(
            signature_out,
            {
                "type": SIGNATURE_TYPE,
                "tender_id": tender.tender_id,
                "tender": tender.reference,
                "agency": uscc,
                "digest": digest,
                "size": len(envelope),
                "certificate": serial,
                "signature": signature,
                "layer_public": layer_public.hex(),
            },
            private=True,
            new=True,
        )
    except BaseException:
        # A sealed bid, its signature and its layer key are made together or not at all.
        Path(args.out).unlink(missing_ok=True)
        layer_out.unlink(missing_ok=True)
        raise
    _say(
        f"Bid for tender {tender.tender_id} ({tender.reference}) by {uscc}: price {form['price']} yuan, "
        f"{form['duration_days']} days, {len(form['commitments'])} commitment(s), {len(documents)} document(s).",
        f"Signed with certificate {serial}, sealed to the tender's opening key ({tender.suite}); "
        f"bids close {deadline}.",
        f"Sealed bid written to {args.out} (mode 600, {len(envelope)} bytes).",
        f"SHA-256: {digest}",
        f"Submission signature written to {signature_out}.",
        *(
            [
                f"This tender also locks each bid with your own key: {layer_out} (mode 600) holds it. Keep it "
                "safe; after the deadline, during the opening, run `release` with it, or the bid counts as "
                "withdrawn. / 本项目采用投标人解密：请妥善保管该密钥文件，开标时用 `release` 解密，否则视为撤回投标。"
            ]
            if layer_private
            else []
        ),
    )
    return 0


def _layer_public(args: argparse.Namespace, *, tender: TenderKey) -> str:
    """The bidder's layer public key (hex) to send with the upload: from the layer-key file `build` wrote."""
    if not tender.bidder_lock:
        return ""
    path = _layer_key_path(args.bid)
    saved = files.read_json(path, what="layer key", what_zh="投标人解密密钥") if path.exists() else None
    if (
        not isinstance(saved, dict)
        or saved.get("type") != steps.LAYER_KEY_TYPE
        or saved.get("tender") != tender.reference
    ):
        raise _refusal(
            "layer_key_missing",
            f"Tender {tender.tender_id} locks each bid with your own key too, and {path} (made by `build`) is "
            "missing or is for another tender: build the bid again.",
            f"本项目采用投标人解密，但找不到 `build` 生成的密钥文件 {path}（或不属于本项目），请重新生成投标文件。",
        )
    return str(saved.get("layer_public", ""))


def _submission_signature(
    args: argparse.Namespace, *, tender: TenderKey, uscc: str, digest: str, layer_public: str = ""
) -> tuple[str, str]:
    """(certificate serial, base64 signature) for the upload: signed now with --key, or at build time."""
    sidecar_path = Path(args.signature) if args.signature else _signature_path(args.bid)
    if args.key:
        key = files.key_load(args.key)
        _, serial = _certificate_for(key, args.certificate, uscc)
        if sidecar_path.exists():
            signed = files.read_json(sidecar_path, what="submission signature", what_zh="递交签名")
            if isinstance(signed, dict) and signed.get("digest") != digest:
                # Signing again would vouch for bytes that changed after the bid was built.
                raise _refusal(
                    "bid_changed",
                    f"{args.bid} changed after it was built (its SHA-256 differs from {sidecar_path}); "
                    "build the bid again.",
                    f"{args.bid} 在生成后被修改（SHA-256 与 {sidecar_path} 不符），请重新生成投标文件。",
                )
        payload = protocol.submission_payload(
            tender=tender.reference, agency=uscc, digest=digest, certificate=serial, layer_public=layer_public
        )
        return serial, base64.b64encode(crypto.sign(key, payload)).decode()
    if not sidecar_path.exists():
        raise _refusal(
            "signature_missing",
            f"No submission signature ({sidecar_path}): pass --key and --certificate to sign now.",
            f"找不到递交签名文件（{sidecar_path}）：请用 --key 和 --certificate 现场签名。",
        )
    signed = files.read_json(sidecar_path, what="submission signature", what_zh="递交签名")
    if not isinstance(signed, dict) or signed.get("type") != SIGNATURE_TYPE:
        raise _refusal(
            "signature_missing",
            f"{sidecar_path} is not a submission signature made by `build`.",
            f"{sidecar_path} 不是 `build` 生成的递交签名文件。",
        )
    if (signed.get("tender_id"), signed.get("tender"), signed.get("agency")) != (
        tender.tender_id,
        tender.reference,
        uscc,
    ):
        raise _refusal(
            "tender_mismatch",
            f"{args.bid} was built for tender {signed.get('tender_id')} ({signed.get('tender')}) by "
            f"{signed.get('agency')}, not for tender {tender.tender_id} ({tender.reference}) by {uscc}.",
            f"{args.bid} 是为招标项目 {signed.get('tender_id')}（{signed.get('tender')}）生成的，"
            f"与本次递交的项目 {tender.tender_id}（{tender.reference}）或机构不符。",
        )
    # The digest is deliberately not compared here: the server checks the signature against the bytes it
    # receives, so a bid changed after it was signed is refused there (signature_invalid).
    return str(signed.get("certificate", "")), str(signed.get("signature", ""))


def _receipt_summary(receipt: Mapping[str, Any]) -> str:
    return (
        f"tender {receipt.get('tender')}, agency {receipt.get('agency')}, bid {receipt.get('bid')}, "
        f"{receipt.get('size')} bytes, received {receipt.get('received_at')}"
    )


RETRY_WAIT_MAX = 60.0


def _with_retries(
    args: argparse.Namespace, idempotency_key: str, send: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Send the upload; on a transient failure send it again, as it was, with the same idempotency key: if the
    server did receive an earlier attempt it answers with that attempt's receipt, never a second bid."""
    attempts, wait = 1 + max(0, int(args.retries)), max(0.0, float(args.retry_wait))
    for attempt in range(1, attempts + 1):
        try:
            return send()
        except ClientError as exc:
            if not exc.transient:
                raise
            if attempt == attempts:
                raise ClientError(
                    exc.code,
                    f"{exc.detail} Gave up after {attempts} attempt(s). The bid may or may not have been received: "
                    "run the same command again when the server answers; with the same idempotency key "
                    f"({idempotency_key}) the server returns the first receipt instead of taking a second bid.",
                    f"{exc.detail_zh}已尝试 {attempts} 次仍失败。投标文件可能已送达，也可能未送达："
                    "请在服务器恢复后重新运行同一命令；"
                    f"使用同一幂等键（{idempotency_key}）时服务器只会返回首次回执，不会重复受理。",
                    transient=True,
                ) from None
            print(f"{exc.code}: {exc.detail} / {exc.detail_zh}", file=sys.stderr)
            print(
                f"retrying in {wait:g} s with the same idempotency key (attempt {attempt + 1} of {attempts}) / "
                f"{wait:g} 秒后使用同一幂等键重试（第 {attempt + 1} 次，共 {attempts} 次）",
                file=sys.stderr,
            )
            time.sleep(wait)
            wait = min(wait * 2, RETRY_WAIT_MAX)
    raise AssertionError("unreachable")  # pragma: no cover


def cmd_submit(args: argparse.Namespace) -> int:
    if bool(args.key) != bool(args.certificate):
        raise _refusal(
            "arguments_invalid",
            "--key and --certificate go together.",
            "--key 与 --certificate 须同时提供。",
        )
    if files.read_head(args.bid, len(crypto.SEAL_MAGIC)) != crypto.SEAL_MAGIC:
        raise _refusal(
            "bid_not_sealed",
            f"{args.bid} is not a sealed bid; make one with `build`.",
            f"{args.bid} 不是加密投标文件，请先用 `build` 生成。",
        )
    digest, size = crypto.digest_file(args.bid), os.path.getsize(args.bid)
    idempotency_key = args.idempotency_key if args.idempotency_key is not None else digest
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise _refusal(
            "arguments_invalid",
            f"The idempotency key is longer than {IDEMPOTENCY_KEY_MAX} characters.",
            f"幂等键不得超过 {IDEMPOTENCY_KEY_MAX} 个字符。",
        )
    receipt_out = Path(args.receipt_out) if args.receipt_out else Path(f"{args.bid}.receipt.json")
    api = _api(args)
    _, uscc = own_agency(api)
    tender = tender_key(api, args.tender)
    layer_public = _layer_public(args, tender=tender)
    serial, signature = _submission_signature(args, tender=tender, uscc=uscc, digest=digest, layer_public=layer_public)
    fields = {"certificate": serial, "signature": signature, "idempotency_key": idempotency_key}
    if layer_public:
        fields["layer_public"] = layer_public
    status, answer = _with_retries(
        args,
        idempotency_key,
        lambda: api.post_multipart(
            f"/api/tenders/{tender.tender_id}/bids/",
            fields,
            [Upload(field="file", path=str(args.bid), filename=Path(args.bid).name)],
        ),
    )
    if not isinstance(answer, dict):
        raise _refusal("response_invalid", "The server returned no receipt.", "服务器没有返回回执。")
    receipt, receipt_signature = answer.get("receipt"), answer.get("receipt_signature")
    if not isinstance(receipt, dict) or not isinstance(receipt_signature, str):
        raise _refusal("response_invalid", "The server returned no receipt.", "服务器没有返回回执。")
    protocol.receipt_verify(receipt, receipt_signature, ca_certificate(api, args.ca))
    expected = {"tender": tender.reference, "agency": uscc, "digest": digest, "size": size}
    if {k: receipt.get(k) for k in expected} != expected:
        raise _refusal(
            "receipt_mismatch",
            f"The receipt is signed but is not for this upload: {_receipt_summary(receipt)}.",
            "回执签名有效，但其内容与本次上传不符。",
        )
    saved = {"receipt": receipt, "receipt_signature": receipt_signature}
    files.write_json(receipt_out, saved, private=False, new=False)
    _say(
        f"Bid {answer.get('id')} {'received' if status == 201 else 'was already received'} at "
        f"{answer.get('received_at')}; status {answer.get('status')}.",
        f"SHA-256: {digest}",
        f"Receipt signature verified with the platform CA; receipt saved to {receipt_out}.",
    )
    if status != 201:
        _say(f"(The idempotency key {idempotency_key} was used before: this is the first receipt, not a new bid.)")
    if answer.get("status") != "submitted":
        raise _refusal(
            "bid_not_standing",
            f"Bid {answer.get('id')} is {answer.get('status')}, so it will not be opened. To bid again, build a "
            "new envelope (or pass a new --idempotency-key).",
            f"投标 {answer.get('id')} 的状态为 {answer.get('status')}，开标时不会被解密。如需重新投标，"
            "请重新生成投标文件（或使用新的 --idempotency-key）。",
        )
    return 0


def _own_bid(api: Api, tender: TenderKey, bid_id: int) -> dict[str, Any]:
    """One of the caller's bids on this tender, as the server lists them."""
    mine = api.get_json(f"/api/tenders/{tender.tender_id}/bids/")
    for bid in mine if isinstance(mine, list) else []:
        if isinstance(bid, dict) and bid.get("id") == bid_id:
            return bid
    raise _refusal(
        "not_found",
        f"You have no bid {bid_id} on tender {tender.tender_id}.",
        f"您在招标项目 {tender.tender_id} 中没有编号为 {bid_id} 的投标。",
    )


def cmd_withdraw(args: argparse.Namespace) -> int:
    """Withdraw a bid, signed with the agency's key: the platform accepts no withdrawal the agency did not sign."""
    api = _api(args)
    key = files.key_load(args.key)
    _, uscc = own_agency(api)
    _, serial = _certificate_for(key, args.certificate, uscc)
    tender = tender_key(api, args.tender)
    bid = _own_bid(api, tender, args.bid_id)
    signature = steps.withdrawal_signature(
        tender=tender.reference,
        agency=uscc,
        bid=args.bid_id,
        digest=str(bid.get("ciphertext_digest", "")),
        certificate=serial,
        private_key=key,
    )
    answer = api.post_json(f"/api/bids/{args.bid_id}/withdraw/", {"certificate": serial, "signature": signature})
    if not isinstance(answer, dict):
        raise _refusal("response_invalid", "The server did not describe the bid.", "服务器没有返回投标信息。")
    _say(
        f"Bid {answer.get('id')} withdrawn at {answer.get('withdrawn_at')}; status {answer.get('status')}. "
        "You may submit a new bid before the deadline."
    )
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """The bidder's decryption (投标人解密) at the opening: send the key of the bid's own lock. Checked here first
    that the opening has begun, so the key never leaves this machine before the deadline."""
    saved = files.read_json(args.layer_key, what="layer key", what_zh="投标人解密密钥")
    if not isinstance(saved, dict) or saved.get("type") != steps.LAYER_KEY_TYPE:
        raise _refusal(
            "layer_key_invalid",
            f"{args.layer_key} is not a layer-key file made by `build`.",
            f"{args.layer_key} 不是 `build` 生成的投标人解密密钥文件。",
        )
    api = _api(args)
    tender_id = int(saved.get("tender_id") or 0)
    detail = api.get_json(f"/api/tenders/{tender_id}/", auth=False)
    status = detail.get("status") if isinstance(detail, dict) else None
    if status != "opening":
        raise _refusal(
            "opening_not_started" if status in ("draft", "pending_review", "published", "suspended") else "not_opening",
            f"Tender {tender_id} is {status}, not in its opening: the key is released only after the deadline, "
            "during the opening. Nothing was sent.",
            f"招标项目 {tender_id} 当前状态为 {status}，不在开标阶段：投标人解密只能在开标时进行。未发送任何内容。",
        )
    answer = api.post_json(f"/api/bids/{args.bid_id}/release/", {"layer_key": str(saved.get("layer_key", ""))})
    if not isinstance(answer, dict):
        raise _refusal("response_invalid", "The server did not describe the bid.", "服务器没有返回投标信息。")
    _say(
        f"Bid {answer.get('id')}: your key was released at {answer.get('layer_released_at')}; the bid opens with the "
        "others once the key holders' shares are in. / 投标人解密完成。"
    )
    return 0


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    saved = files.read_json(args.receipt, what="receipt", what_zh="回执")
    if not isinstance(saved, dict) or not isinstance(saved.get("receipt"), dict):
        raise _refusal(
            "receipt_invalid",
            f"{args.receipt} is not a saved receipt ({{receipt, receipt_signature}}).",
            f"{args.receipt} 不是保存的回执文件。",
        )
    receipt, signature = saved["receipt"], str(saved.get("receipt_signature", ""))
    api = None if args.ca else _api(args, with_token=False)
    protocol.receipt_verify(receipt, signature, ca_certificate(api, args.ca))
    _say(f"Receipt signature valid ({'CA ' + args.ca if args.ca else 'CA from ' + str(api and api.base)}).")
    _say(f"Receipt: {_receipt_summary(receipt)}.", f"SHA-256: {receipt.get('digest')}")
    if args.bid:
        digest, size = crypto.digest_file(args.bid), os.path.getsize(args.bid)
        if (digest, size) != (receipt.get("digest"), receipt.get("size")):
            raise _refusal(
                "receipt_digest_mismatch",
                f"{args.bid} is not the bid this receipt was issued for (SHA-256 {digest}).",
                f"{args.bid} 不是该回执对应的投标文件（SHA-256 {digest}）。",
            )
        _say(f"{args.bid} is the bid the receipt was issued for.")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    """A key holder at the opening: fetch the wrapped share, decrypt it here with the local P-256 key,
    submit it. The private key stays on this machine; only the decrypted share is sent, after the
    deadline, when the server accepts shares at all."""
    api = _api(args)
    mine = api.get_json(f"/api/tenders/{args.tender}/opening/share/")
    if not isinstance(mine, dict) or "wrapped" not in mine or "context" not in mine:
        raise _refusal("response_invalid", "The server did not return your share.", "服务器没有返回您的密钥分片。")
    key = files.key_load(args.key)
    try:
        share = steps.unwrap_holder_share(wrapped=str(mine["wrapped"]), context=mine["context"], private_key=key)
    except (crypto.CryptoError, ValueError) as exc:
        detail = getattr(exc, "detail", str(exc))
        raise _refusal(
            "share_unreadable",
            f"This key does not open your share of {mine.get('tender')}: {detail}",
            "无法用此私钥解开您的密钥分片（私钥与登记的证书不符？）。",
        ) from None
    answer = api.post_json(f"/api/tenders/{args.tender}/opening/share/", {"share": share})
    if not isinstance(answer, dict):
        raise _refusal("response_invalid", "The server did not confirm the share.", "服务器没有确认密钥分片。")
    state = "the bids are opened" if answer.get("opened") else "waiting for the other holders"
    _say(
        f"Share {mine.get('index')} of {answer.get('tender')} accepted: "
        f"{answer.get('shares_submitted')} of {answer.get('threshold')} submitted; {state}."
    )
    return 0


def _published_commitment(api: Api, tender_id: int) -> str | None:
    """The lottery commitment the tender notice published, before any bid was opened."""
    for notice in api.pages(f"/api/tenders/{tender_id}/notices/", auth=False):
        if notice.get("kind") == "tender":
            committed = (notice.get("data") or {}).get("lottery") or {}
            return str(committed["commitment"]) if committed.get("commitment") else None
    return None


def cmd_verify_result(args: argparse.Namespace) -> int:
    """Anyone, after the result: check the evaluation record's signature, that it builds on the
    published opening record, and, when lots were drawn, recompute the draw from the commitment the
    tender notice published and the digests of the valid bids."""
    api = _api(args, with_token=False)
    view = api.get_json(f"/api/tenders/{args.tender}/evaluation/", auth=False)
    records = view.get("records") if isinstance(view, dict) else None
    if not records:
        raise _refusal("no_result", f"Tender {args.tender} has no evaluation record yet.", "该项目尚无评审记录。")
    chosen = (
        records[-1] if args.round is None else next((r for r in records if r["record"]["round"] == args.round), None)
    )
    if chosen is None:
        raise _refusal("no_such_round", f"No evaluation round {args.round}.", f"没有第 {args.round} 轮评审记录。")
    record = chosen["record"]
    digest = protocol.evaluation_record_verify(record, str(chosen.get("signature", "")), ca_certificate(api, args.ca))
    if digest != chosen.get("digest"):
        raise _refusal("digest_mismatch", "The record's SHA-256 is not the one published.", "记录摘要与公布值不符。")
    _say(f"Evaluation record round {record['round']} of {record['tender']} ({record['method']}): signature valid.")
    opening = api.get_json(f"/api/tenders/{args.tender}/opening/record/", auth=False)
    if not isinstance(opening, dict) or opening.get("digest") != record.get("opening_record_digest"):
        raise _refusal(
            "opening_record_mismatch",
            "The evaluation does not build on the published opening record.",
            "评审记录所依据的开标记录与公布的开标记录不符。",
        )
    _say(f"It builds on the published opening record {opening['digest']}.")
    draw = record.get("draw")
    if draw:
        published = _published_commitment(api, args.tender)
        if published is None or published != draw.get("commitment"):
            raise _refusal(
                "commitment_mismatch",
                "The draw's commitment is not the one published with the tender notice.",
                "抽签承诺值与招标公告公布的不一致。",
            )
        in_draw = sorted(row["digest"] for row in record["bids"] if row["result"] != "excluded")
        try:
            problems = lottery.check(draw)
        except (ValueError, KeyError) as exc:
            problems = [str(exc)]
        if in_draw != sorted(draw.get("digests", [])):
            problems.append("the draw's digests are not those of the valid bids")
        if problems:
            raise _refusal("draw_mismatch", "The draw does not recompute: " + "; ".join(problems), "抽签结果无法复现。")
        _say(f"Draw recomputed ({draw['algorithm']}): commitment as published, seed {draw['seed']}.")
        for label, spec in sorted((draw.get("choices") or {}).items()):
            _say(f"  drawn {label}: {spec['chosen']} of {spec['options']}")
    rows = {row["bid"]: row for row in record["bids"]}
    for place, bid_id in enumerate(record["ranking"], 1):
        row = rows[bid_id]
        _say(f"  {place}. {row['agency']} ({row['uscc']}) price {row['price']}: {row['result']}")
    for row in record["bids"]:
        if row["result"] == "excluded":
            _say(f"  set aside: {row['agency']} ({row['uscc']}): {row['reason']}")
    _say(f"Result: {record['result']}.")
    return 0


# --- the command line ------------------------------------------------------------------------------------------


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The same options on the top-level parser and on each command, so they may come before or after the
    # command's name; on commands they default to "not given" and do not hide a top-level value.
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("server and login")
    group.add_argument("--server", default=default, help=f"API address (env AGORA_SERVER; {DEFAULT_SERVER})")
    group.add_argument("--token", default=default, help="API token (env AGORA_TOKEN); prefer --token-file")
    group.add_argument("--token-file", default=default, help="file holding the API token (env AGORA_TOKEN_FILE)")
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT if top else argparse.SUPPRESS,
        help=f"seconds to wait for the server ({DEFAULT_TIMEOUT:g})",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bidding.client",
        description="The agency's client: keys, certificates, sealed signed bids and receipts (docs/client.md).",
    )
    _connection_options(top, top=True)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _connection_options(sub, top=False)
        sub.set_defaults(run=run)
        return sub

    login = command("login", cmd_login, "get an API token with a username and password")
    login.add_argument("--username", help="env AGORA_USERNAME; asked for when absent")
    login.add_argument("--password", help="env AGORA_PASSWORD; asked for (not echoed) when absent")
    login.add_argument("--out", help="write the token to this file (mode 600) instead of printing it")

    tenders = command("tenders", cmd_tenders, "list the tenders open for bids (id, reference, deadline, title)")
    tenders.add_argument("--category", help="only this service category, e.g. surveying")

    keygen = command("keygen", cmd_keygen, "make a private key (PKCS#8 PEM, mode 600; never overwrites)")
    keygen.add_argument("--out", required=True, help="the new key file, e.g. agency.key.pem")
    keygen.add_argument(
        "--kind", choices=sorted(files.KINDS), default="ed25519", help="ed25519 (agencies) or p256 (key holders)"
    )
    keygen.add_argument("--encrypt", action="store_true", help="protect the key with a passphrase (AGORA_KEY_PASSWORD)")

    request = command(
        "request-certificate", cmd_request_certificate, "an admitted agency: certify its signing key (CSR, certificate)"
    )
    request.add_argument("--key", required=True, help="the private key file")
    request.add_argument("--out", help="where to write the certificate (default: KEY with .cert.pem)")
    request.add_argument("--endorse-key", help="while a certificate is valid: its key, to vouch for the new one")
    request.add_argument("--endorse-certificate", help="the certificate of --endorse-key (PEM)")

    holder = command(
        "register-key-holder",
        cmd_register_key_holder,
        "a purchaser, supervisor or trading-centre user: register the P-256 key opening-key shares are encrypted to",
    )
    holder.add_argument("--key", required=True, help="the private key file (P-256)")
    holder.add_argument("--uscc", help="your organisation's USCC (needed unless you registered a key before)")
    holder.add_argument("--out", help="where to write the certificate (default: KEY with .cert.pem)")

    build = command("build", cmd_build, "build, sign and seal a bid from a bid form and documents")
    build.add_argument("--tender", type=int, required=True, help="tender id")
    build.add_argument("--form", required=True, help="bid form JSON: price, duration_days, commitments, …")
    build.add_argument("--doc", action="append", help="a document file (repeat for several)")
    build.add_argument("--key", required=True, help="the agency's private key file")
    build.add_argument("--certificate", required=True, help="the agency's signing certificate (PEM)")
    build.add_argument("--out", required=True, help="the sealed bid to write (never overwritten)")
    build.add_argument("--signature-out", help="the submission signature to write (default: OUT.sig)")

    submit = command("submit", cmd_submit, "upload a sealed bid and verify the signed receipt")
    submit.add_argument("--tender", type=int, required=True, help="tender id")
    submit.add_argument("--bid", required=True, help="the sealed bid made by build")
    submit.add_argument("--key", help="sign the upload now with this key (else the signature made by build)")
    submit.add_argument("--certificate", help="the certificate of --key (PEM)")
    submit.add_argument("--signature", help="the submission signature made by build (default: BID.sig)")
    submit.add_argument("--idempotency-key", help="repeat-safe key (default: the bid's SHA-256)")
    submit.add_argument("--receipt-out", help="where to save the receipt (default: BID.receipt.json)")
    submit.add_argument(
        "--retries",
        type=int,
        default=3,
        help="send again this many times when the connection fails or the answer is cut off (default 3)",
    )
    submit.add_argument(
        "--retry-wait", type=float, default=2.0, help="seconds before the first retry, doubling each time (default 2)"
    )
    submit.add_argument("--ca", help="check the receipt with this CA certificate instead of the server's")

    withdraw = command("withdraw", cmd_withdraw, "withdraw a submitted bid before the deadline, signed with your key")
    withdraw.add_argument("--tender", type=int, required=True, help="tender id")
    withdraw.add_argument("--bid-id", type=int, required=True, help="the bid id printed by submit")
    withdraw.add_argument("--key", required=True, help="the agency's private key file")
    withdraw.add_argument("--certificate", required=True, help="the agency's signing certificate (PEM)")

    release = command(
        "release",
        cmd_release,
        "at the opening, under the bidder's-lock policy: release your bid's own key (投标人解密)",
    )
    release.add_argument("--bid-id", type=int, required=True, help="the bid id printed by submit")
    release.add_argument("--layer-key", required=True, help="the BID.layer-key.json file made by build")

    verify = command("verify-receipt", cmd_verify_receipt, "check a receipt's signature (offline with --ca)")
    verify.add_argument("--receipt", required=True, help="the receipt saved by submit")
    verify.add_argument("--ca", help="the platform CA certificate (PEM); without it, fetched from --server")
    verify.add_argument("--bid", help="also check that this sealed bid is the one the receipt names")

    share = command(
        "share", cmd_share, "key holders, at the opening: decrypt your opening-key share here and submit it"
    )
    share.add_argument("--tender", type=int, required=True, help="tender id")
    share.add_argument("--key", required=True, help="your key-holder private key (P-256)")

    result = command(
        "verify-result",
        cmd_verify_result,
        "anyone: check a tender's evaluation record and recompute its lottery draw from the published commitment",
    )
    result.add_argument("--tender", type=int, required=True, help="tender id")
    result.add_argument("--round", type=int, help="the evaluation round (default: the latest)")
    result.add_argument("--ca", help="the platform CA certificate (PEM); without it, fetched from --server")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 done, 1 refused, 2 wrong usage, 3 network or server failure)."""
    try:
        args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:  # --help, or a usage error (already printed by argparse)
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except (ClientError, pki.PkiError) as exc:
        print(f"{exc.code}: {exc.detail} / {exc.detail_zh}", file=sys.stderr)
        fields = getattr(exc, "fields", None)
        if fields:
            print(f"  fields: {fields}", file=sys.stderr)
        return 3 if getattr(exc, "transient", False) else 1
    except OSError as exc:
        name = exc.filename or ""
        print(f"file_error: {name} {exc.strerror} / 文件错误：{name} {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted / 已中断", file=sys.stderr)
        return 130

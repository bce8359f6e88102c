"""The agency's command-line client (``python -m bidding.client``), run in-process against the real API
served by a live server thread: keys, certificates, building, sealing, signing, submitting, receipts,
withdrawal, and every refusal printed as ``code: detail / detail_zh``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from agencies import pki
from agencies.models import Certificate
from bidding import crypto, protocol
from bidding.client.api import Api, ClientError, multipart
from bidding.client.cli import bid_form
from bidding.models import Bid, OpeningKey
from bidding.services.opening_keys import share_context
from core import clock
from core.models import AuditEntry
from core.permissions import Role
from market.choices import TenderStatus
from procurement.services.timeline import run_due_steps
from tests.bidding.test_opening_keys import _every_stored_value
from tests.factories import HOLDER_KEYS, PASSWORD, api_token, applied_agency, bidder_lock_profile, user

# The live server runs in a thread with its own database connections, so the tests commit for real;
# serialized_rollback restores the rows the data migrations made (rule profiles, audit head) after the flush.
live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Agency:
    """One agency's machine: its directory, key, certificate and the options to reach the server."""

    def __init__(self, run, server: str, member, directory: Path) -> None:
        directory.mkdir()
        self.run, self.member, self.dir = run, member, directory
        self.key, self.cert = directory / "agency.key.pem", directory / "agency.cert.pem"
        self.auth = ["--server", server, "--token", api_token(member)]

    def setup(self) -> Agency:
        assert self.run("keygen", "--out", self.key)[0] == 0
        code, _, err = self.run("request-certificate", *self.auth, "--key", self.key)
        assert code == 0, err
        return self

    def build(self, tender, name: str = "bid.sealed", **form) -> Path:
        form_path = self.dir / f"{name}.form.json"
        form_path.write_text(json.dumps({"price": "98000.00", "duration_days": 40, **form}))
        document = self.dir / "方案.pdf"
        document.write_bytes(b"%PDF-1.7 plan")
        out = self.dir / name
        code, _, err = self.run(
            "build", *self.auth, "--tender", tender.pk, "--form", form_path, "--doc", document,
            "--key", self.key, "--certificate", self.cert, "--out", out,
        )  # fmt: skip
        assert code == 0, err
        return out

    def submit(self, tender, bid: Path, *extra: object) -> tuple[int, str, str]:
        return self.run("submit", *self.auth, "--tender", tender.pk, "--bid", bid, *extra)


def holder_share_argv(live_server, tmp_path, member, tender) -> list[object]:
    """A key holder's machine at the opening: its private key in a file, and the `share` command line."""
    path = tmp_path / f"{member.username}.key.pem"
    path.write_bytes(
        HOLDER_KEYS[member.username].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    token = api_token(member)
    return ["share", "--server", live_server.url, "--token", token, "--tender", tender.pk, "--key", path]


def _opening_key(tender) -> bytes:
    """What the opening will do: two holders unwrap their shares and the key is rebuilt in memory."""
    key = OpeningKey.objects.get(tender=tender)
    shares = [
        (
            s.index,
            crypto.unwrap_share(
                wrapped=bytes(s.wrapped),
                holder_private_key=HOLDER_KEYS[s.holder.username],
                associated=share_context(tender, s),
            ),
        )
        for s in key.shares.select_related("holder", "certificate")[:2]
    ]
    return crypto.combine_shares(shares, t=2, expected_public=bytes.fromhex(key.public_key))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@live
def test_the_whole_path_from_key_to_withdrawal(world, tender, live_server, run, tmp_path):
    home = tmp_path / "agency"
    home.mkdir()
    server = ["--server", live_server.url]
    token_file = home / "token"
    code, out, err = run(
        "login", *server, "--username", world.agency.username, "--password", PASSWORD, "--out", token_file
    )
    assert code == 0, err
    assert _mode(token_file) == 0o600 and token_file.read_text().strip() not in out
    auth = [*server, "--token-file", token_file]

    key_path = home / "agency.key.pem"
    assert run("keygen", "--out", key_path)[0] == 0
    code, out, err = run("request-certificate", *auth, "--key", key_path)
    assert code == 0, err
    issued = Certificate.objects.get(organisation=world.agency.organisation)
    cert_path = home / "agency.cert.pem"
    assert issued.serial in out and cert_path.read_text() == issued.pem

    form = home / "form.json"
    form.write_text('{"price": 98000.5, "duration_days": 40, "commitments": ["按期完成", "派驻一级注册造价工程师"]}')
    plan, prices = home / "技术方案.pdf", home / "报价明细.xlsx"
    plan.write_bytes(b"%PDF-1.7 " + os.urandom(3000))
    prices.write_bytes(b"PK\x03\x04" + os.urandom(500))
    bid_path = home / "bid.sealed"
    code, out, err = run(
        "build", *auth, "--tender", tender.pk, "--form", form, "--doc", plan, "--doc", prices,
        "--key", key_path, "--certificate", cert_path, "--out", bid_path,
    )  # fmt: skip
    assert code == 0, err
    envelope = bid_path.read_bytes()
    digest = hashlib.sha256(envelope).hexdigest()
    assert envelope.startswith(crypto.SEAL_MAGIC) and digest in out
    assert _mode(bid_path) == 0o600 and _mode(Path(f"{bid_path}.sig")) == 0o600
    assert not Bid.objects.exists()  # building sends nothing

    receipt_path = home / "receipt.json"
    code, out, err = run("submit", *auth, "--tender", tender.pk, "--bid", bid_path, "--receipt-out", receipt_path)
    assert code == 0, err
    bid = Bid.objects.get(tender=tender)
    assert (bid.status, bid.ciphertext_digest, bid.idempotency_key) == ("submitted", digest, digest)
    assert f"Bid {bid.pk} received" in out and digest in out
    stored = Path(settings.MEDIA_ROOT) / "bids" / digest[:2] / digest
    assert stored.read_bytes() == envelope
    saved = json.loads(receipt_path.read_text())
    assert saved["receipt"] == bid.receipt and saved["receipt"]["tender"] == tender.reference

    # Offline: the receipt checks with the CA certificate alone, and names this very file.
    ca = settings.AGORA_CA_CERT_FILE
    code, out, err = run("verify-receipt", "--receipt", receipt_path, "--ca", ca, "--bid", bid_path)
    assert code == 0, err
    assert "Receipt signature valid" in out and "is the bid the receipt was issued for" in out
    assert run("verify-receipt", *server, "--receipt", receipt_path)[0] == 0  # with the server's CA
    forged = home / "forged.json"
    forged.write_text(json.dumps({**saved, "receipt": {**saved["receipt"], "received_at": "2026-01-01T00:00:00Z"}}))
    code, _, err = run("verify-receipt", "--receipt", forged, "--ca", ca)
    assert code == 1 and err.startswith("signature_invalid: The signature does not verify. / 签名验证失败。")
    code, _, err = run("verify-receipt", "--receipt", receipt_path, "--ca", ca, "--bid", plan)
    assert code == 1 and err.startswith("receipt_digest_mismatch: ")

    # The opening will be able to read it: the rebuilt key opens the envelope and the signature verifies.
    plaintext = crypto.open_sealed(
        envelope=stored.read_bytes(),
        recipient_private=_opening_key(tender),
        associated=protocol.sealed_context(tender=tender.reference, agency=world.agency.organisation.uscc),
    )
    manifest = protocol.bid_verify(plaintext, pki.certificate_load(issued.pem.encode()))
    assert manifest["form"] == {
        "tender": tender.reference,
        "agency": world.agency.organisation.uscc,
        "price": "98000.50",
        "duration_days": 40,
        "commitments": ["按期完成", "派驻一级注册造价工程师"],
    }
    assert manifest["certificate"] == issued.serial
    assert [(d["name"], d["size"]) for d in manifest["documents"]] == [
        ("技术方案.pdf", plan.stat().st_size),
        ("报价明细.xlsx", prices.stat().st_size),
    ]

    code, out, err = run(
        "withdraw", *auth, "--tender", tender.pk, "--bid-id", bid.pk, "--key", key_path, "--certificate", cert_path
    )
    assert code == 0, err
    assert f"Bid {bid.pk} withdrawn" in out
    assert Bid.objects.get(pk=bid.pk).status == "withdrawn"

    # The private key never left the machine: in no form in any column or stored file.
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raw = key.private_bytes_raw()
    forms = {key_path.read_bytes(), der, raw}
    forms |= {f(v) for v in (der, raw) for f in (bytes.hex, base64.b64encode, base64.urlsafe_b64encode)}
    forms = {f.encode() if isinstance(f, str) else f for f in forms}
    forms |= {base64.b64encode(der).rstrip(b"="), base64.b64encode(raw).rstrip(b"="), raw.hex().upper().encode()}
    stored_values = _every_stored_value()
    assert stored_values, "the search must have read the database"
    assert not [v for v in stored_values for f in forms if f in v]
    media = [p.read_bytes() for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert media and not [m for m in media for f in forms if f in m]


@live
def test_a_retried_submit_returns_the_same_receipt(agency, tender):
    code, out, _ = agency.run("tenders", *agency.auth)
    assert code == 0 and f"{tender.pk}  {tender.reference}  " in out
    bid_path = agency.build(tender)
    first = agency.submit(tender, bid_path, "--receipt-out", agency.dir / "first.json")
    again = agency.submit(tender, bid_path, "--receipt-out", agency.dir / "again.json")
    assert (first[0], again[0]) == (0, 0), (first, again)
    assert "was already received" in again[1] and "not a new bid" in again[1]
    assert json.loads((agency.dir / "first.json").read_text()) == json.loads((agency.dir / "again.json").read_text())
    assert Bid.objects.filter(tender=tender).count() == 1

    # After a withdrawal the same envelope is the same (withdrawn) bid, and the client says so.
    bid = Bid.objects.get(tender=tender)
    signed = ["--key", agency.key, "--certificate", agency.cert]
    assert agency.run("withdraw", *agency.auth, "--tender", tender.pk, "--bid-id", bid.pk, *signed)[0] == 0
    code, _, err = agency.submit(tender, bid_path)
    assert code == 1 and err.startswith(f"bid_not_standing: Bid {bid.pk} is withdrawn")
    assert "/ 投标" in err
    assert Bid.objects.filter(tender=tender).count() == 1


@live
def test_a_bid_altered_after_it_was_signed_is_refused_by_the_server(agency, tender):
    bid_path = agency.build(tender)
    envelope = bytearray(bid_path.read_bytes())
    envelope[-1] ^= 1
    bid_path.write_bytes(bytes(envelope))

    # The signature made at build time travels with the upload; the server checks it against what arrives.
    code, out, err = agency.submit(tender, bid_path)
    assert (code, out) == (1, "")
    assert err == "signature_invalid: The signature does not verify. / 签名验证失败。\n"
    assert not Bid.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "bids").exists()

    # Signing again would vouch for the altered bytes: the client refuses while it knows the original digest.
    code, _, err = agency.submit(tender, bid_path, "--key", agency.key, "--certificate", agency.cert)
    assert code == 1 and err.startswith("bid_changed: ") and " / " in err
    assert not Bid.objects.exists()

    # Signed after the change, the server cannot tell (it never decrypts); the opening catches it.
    Path(f"{bid_path}.sig").unlink()
    code, _, err = agency.submit(tender, bid_path, "--key", agency.key, "--certificate", agency.cert)
    assert code == 0, err
    with pytest.raises(crypto.CryptoError) as refused:
        crypto.open_sealed(
            envelope=bid_path.read_bytes(),
            recipient_private=_opening_key(tender),
            associated=protocol.sealed_context(tender=tender.reference, agency=agency.member.organisation.uscc),
        )
    assert refused.value.code == "decryption_failed"


@live
def test_refusals_print_the_code_and_both_languages(world, tender, agency, live_server, run, tmp_path):
    server = ["--server", live_server.url]
    code, out, err = run("login", *server, "--username", world.agency.username, "--password", "wrong-password")
    assert (code, out) == (1, "")
    assert err == "login_failed: Wrong username or password. / 用户名或密码错误。\n"

    signed = ["--tender", tender.pk, "--key", agency.key, "--certificate", agency.cert]
    code, _, err = run("withdraw", *agency.auth, "--bid-id", 999999, *signed)
    assert code == 1 and err == f"not_found: You have no bid 999999 on tender {tender.pk}. / " + (
        f"您在招标项目 {tender.pk} 中没有编号为 999999 的投标。\n"
    )

    code, _, err = run("withdraw", *server, "--token", "not-a-token", "--bid-id", 1, *signed)
    assert code == 1 and err == "authentication_failed: Invalid token. / 身份认证失败。\n"

    code, _, err = run("withdraw", *server, "--bid-id", 1, *signed)
    assert code == 1 and err.startswith("token_missing: No API token") and " / 缺少 API 令牌" in err

    applicant = Agency(run, live_server.url, applied_agency(), tmp_path / "applicant")
    assert run("keygen", "--out", applicant.key)[0] == 0
    code, _, err = run("request-certificate", *applicant.auth, "--key", applicant.key)
    assert code == 1
    assert err == (
        "agency_not_admitted: Only an admitted agency can obtain a signing certificate."
        " / 只有已入驻的机构可以申请签名证书。\n"
    )
    assert not applicant.cert.exists()

    bid_path = agency.build(tender)
    clock.freeze(tender.bid_deadline)
    code, _, err = agency.submit(tender, bid_path)
    assert code == 1 and err.startswith("deadline_passed: Bids for this tender closed at ")
    assert " / 本项目投标已于 " in err
    assert not Bid.objects.exists()


@live
def test_key_holders_register_a_p256_key(world, live_server, run, tmp_path):
    server = ["--server", live_server.url]
    newcomer = user(Role.PURCHASER)
    auth = [*server, "--token", api_token(newcomer)]
    ed25519_key, p256_key = tmp_path / "ed.key.pem", tmp_path / "holder.key.pem"
    assert run("keygen", "--out", ed25519_key)[0] == 0
    assert run("keygen", "--out", p256_key, "--kind", "p256")[0] == 0

    code, _, err = run("register-key-holder", *auth, "--key", ed25519_key)
    assert code == 1 and err.startswith("key_unsupported: An opening-key holder's key must be ECDSA P-256")
    # The organisation's USCC comes from /api/me/.
    code, out, err = run("register-key-holder", *auth, "--key", p256_key)
    assert code == 0, err
    cert = Certificate.objects.get(holder=newcomer)
    assert cert.purpose == "key_holder" and cert.serial in out
    assert (tmp_path / "holder.cert.pem").read_text() == cert.pem

    # A holder who registered before adds a newer key beside the first.
    second = tmp_path / "second.key.pem"
    assert run("keygen", "--out", second, "--kind", "p256")[0] == 0
    holder_auth = [*server, "--token", api_token(world.supervisor)]
    code, _, err = run("register-key-holder", *holder_auth, "--key", second)
    assert code == 0, err
    assert Certificate.objects.filter(holder=world.supervisor).count() == 2


def test_keygen_writes_mode_600_and_never_overwrites(run, tmp_path):
    path = tmp_path / "agency.key.pem"
    code, out, _ = run("keygen", "--out", path)
    assert code == 0 and _mode(path) == 0o600
    original = path.read_bytes()
    assert isinstance(serialization.load_pem_private_key(original, password=None), Ed25519PrivateKey)
    assert original not in out.encode() and b"PRIVATE" not in out.encode()

    code, out, err = run("keygen", "--out", path, "--kind", "p256")
    assert (code, out) == (1, "")
    assert err.startswith(f"file_exists: {path} already exists; it is never overwritten.") and " / 文件 " in err
    assert path.read_bytes() == original and _mode(path) == 0o600

    holder = tmp_path / "holder.key.pem"
    assert run("keygen", "--out", holder, "--kind", "p256")[0] == 0
    assert isinstance(
        serialization.load_pem_private_key(holder.read_bytes(), password=None), ec.EllipticCurvePrivateKey
    )


def test_an_encrypted_key_asks_for_its_passphrase(run, tmp_path, monkeypatch):
    monkeypatch.setenv("AGORA_KEY_PASSWORD", "correct horse battery")
    path = tmp_path / "agency.key.pem"
    assert run("keygen", "--out", path, "--encrypt")[0] == 0
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(path.read_bytes(), password=None)
    monkeypatch.setenv("AGORA_KEY_PASSWORD", "wrong")
    # Any command that loads the key: a wrong passphrase is refused before anything is sent.
    code, _, err = run("request-certificate", "--server", "http://127.0.0.1:9", "--key", path)
    assert code == 1 and err.startswith(f"key_unreadable: {path} is not a PEM private key, or its passphrase")


@live
def test_key_holders_open_the_bids_with_the_client(world, live_server, run, tmp_path):
    """At the opening each holder runs `share` on its own machine; the second share opens the bids."""
    from bidding.models import OpeningRecord
    from tests.bidding.test_opening import at_deadline, enough_bids

    tender = world.in_state(TenderStatus.PUBLISHED)
    enough_bids(world, tender)
    at_deadline(tender)

    def holder(member) -> list[object]:
        return holder_share_argv(live_server, tmp_path, member, tender)

    code, out, err = run(*holder(world.purchaser))
    assert code == 0, err
    assert "1 of 2 submitted; waiting for the other holders" in out
    code, out, err = run(*holder(world.supervisor))
    assert code == 0, err
    assert "the bids are opened" in out
    assert OpeningRecord.objects.filter(tender=tender).exists()
    # The wrong key cannot open a holder's share: refused here, nothing sent.
    wrong = tmp_path / "wrong.key.pem"
    wrong.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    argv = holder(world.operator)
    code, _, err = run(*argv[:-1], wrong)
    assert code == 1 and "share_unreadable:" in err


def test_usage_errors_exit_2(run):
    assert run("submit", "--tender", "1")[0] == 2
    assert run()[0] == 2
    assert run("--help")[0] == 0


def test_the_bid_form_is_checked_and_bound_to_tender_and_agency():
    form = bid_form({"price": Decimal("98000.5"), "duration_days": 40}, reference="ZB-1", uscc="U")
    assert form == {"price": "98000.50", "duration_days": 40, "commitments": [], "tender": "ZB-1", "agency": "U"}
    assert bid_form({"price": 120000, "duration_days": 1}, reference="ZB-1", uscc="U")["price"] == "120000.00"
    for bad in (
        {"price": "98000.001", "duration_days": 40},
        {"price": "-1", "duration_days": 40},
        {"price": "NaN", "duration_days": 40},
        {"price": True, "duration_days": 40},
        {"duration_days": 40},
        {"price": "1.00", "duration_days": 0},
        {"price": "1.00", "duration_days": "40"},
        {"price": "1.00", "duration_days": 40, "commitments": "按期完成"},
        {"price": "1.00", "duration_days": 40, "commitments": [""]},
        ["price", "1.00"],
    ):
        with pytest.raises(ClientError) as refused:
            bid_form(bad, reference="ZB-1", uscc="U")
        assert refused.value.code == "form_invalid" and refused.value.detail_zh
    with pytest.raises(ClientError) as refused:
        bid_form({"price": "1.00", "duration_days": 40, "tender": "ZB-2"}, reference="ZB-1", uscc="U")
    assert refused.value.code == "form_mismatch"


def test_the_multipart_body_frames_fields_and_files(tmp_path):
    path = tmp_path / "bid.sealed"
    path.write_bytes(b"AGS1" + bytes(range(256)) * 10)
    content_type, length, chunks = multipart({"signature": "c2ln", "name": 'a"b'}, [_upload(path)])
    body = b"".join(chunks)
    assert len(body) == length
    boundary = content_type.split("boundary=")[1].encode()
    parts = body.split(b"--" + boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n" and len(parts) == 5
    assert parts[3].endswith(b"\r\n\r\n" + path.read_bytes() + b"\r\n")
    assert b'name="name"\r\n\r\na"b\r\n' in parts[2] and b'filename="bid.sealed"' in parts[3]


def _upload(path: Path):
    from bidding.client.api import Upload

    return Upload(field="file", path=str(path), filename=path.name)


def test_the_token_goes_only_to_the_configured_server_and_warns_over_plain_http():
    assert Api("http://127.0.0.1:8000").insecure is False
    assert Api("https://agora.example.cn").insecure is False
    assert Api("http://agora.example.cn").insecure is True
    api = Api("https://agora.example.cn/base/")
    # A pagination link naming another host is followed on the configured one.
    assert (
        api._same_server("http://evil.example/api/notices/?cursor=x")
        == "https://agora.example.cn/api/notices/?cursor=x"
    )
    with pytest.raises(ClientError) as refused:
        Api("file:///etc/passwd")
    assert refused.value.code == "server_invalid"


@live
def test_the_bidders_lock_from_build_to_release(world, agency, run):
    """Under the bidder's-lock policy the client makes and keeps the bid's own key, sends its public half with the
    upload, refuses to send the key before the opening, and releases it during the opening."""
    tender = world.in_state(TenderStatus.PUBLISHED, profile=bidder_lock_profile())
    bid_path = agency.build(tender)
    layer_file = Path(f"{bid_path}.layer-key.json")
    assert _mode(layer_file) == 0o600
    saved = json.loads(layer_file.read_text())
    code, out, err = agency.submit(tender, bid_path)
    assert code == 0, err
    bid = Bid.objects.get(tender=tender)
    assert bid.layer_public == saved["layer_public"] and bid.receipt["layer_public"] == saved["layer_public"]
    # The private half never reached the server with the upload.
    raw = base64.b64decode(saved["layer_key"])
    assert not [
        v for v in _every_stored_value() for f in (raw, raw.hex().encode(), saved["layer_key"].encode()) if f in v
    ]

    release = ["release", *agency.auth, "--bid-id", bid.pk, "--layer-key", layer_file]
    code, _, err = run(*release)
    assert code == 1 and err.startswith("opening_not_started: ") and "未发送任何内容" in err
    assert not AuditEntry.objects.filter(action="bid.layer_release").exists()

    for other in world.agencies[:2]:  # enough bids for the tender to open
        world.sealed_bid(tender, other)
    clock.freeze(tender.bid_deadline)
    run_due_steps()
    code, out, err = run(*release)
    assert code == 0, err
    assert "released" in out
    bid.refresh_from_db()
    assert bid.layer_released_at is not None and bytes(bid.layer_key) == raw
    code, _, err = run(*release)
    assert code == 1 and err.startswith("already_released: ")


@live
def test_a_new_key_is_certified_only_with_the_current_keys_endorsement(agency, run):
    new_key = agency.dir / "new.key.pem"
    assert run("keygen", "--out", new_key)[0] == 0
    code, _, err = run("request-certificate", *agency.auth, "--key", new_key)
    assert code == 1 and err.startswith("certificate_endorsement_required: ") and "签名认可" in err
    assert Certificate.objects.filter(organisation=agency.member.organisation).count() == 1
    code, _, err = run(
        "request-certificate", *agency.auth, "--key", new_key,
        "--endorse-key", agency.key, "--endorse-certificate", agency.cert,
    )  # fmt: skip
    assert code == 0, err
    assert Certificate.objects.filter(organisation=agency.member.organisation).count() == 2

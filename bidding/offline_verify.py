"""Verify a published opening or evaluation record offline, with nothing but the published material.

Needs only Python and the ``cryptography`` package, not this project or its database: copy the file
anywhere. Inputs are two downloads anyone can make:

    curl -o record.json https://<platform>/api/tenders/<id>/opening/record/
    (or an evaluation record: one of the ``records`` of /api/tenders/<id>/evaluation/)
    curl -o ca.pem      https://<platform>/api/public/ca/
    python offline_verify.py record.json ca.pem

It rebuilds the record's canonical JSON (keys sorted, no spaces, UTF-8), checks its SHA-256 against
the published digest and the platform's signature against the CA certificate's public key, and
prints the table. Exit status 0 when it verifies, 1 when it does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def canonical(value: Any) -> bytes:
    """The platform's canonical JSON for values that are already plain JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def verify(published: dict[str, Any], ca_pem: bytes) -> str:
    """Return the record's digest if the signature verifies; raise ``ValueError`` otherwise."""
    record, signature = published["record"], base64.b64decode(published["signature"], validate=True)
    payload = canonical(record)
    digest = hashlib.sha256(payload).hexdigest()
    if digest != published.get("digest"):
        raise ValueError(f"the record's SHA-256 is {digest}, not the published {published.get('digest')}")
    public_key = x509.load_pem_x509_certificate(ca_pem).public_key()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            raise ValueError("unsupported CA key type")
    except InvalidSignature:
        raise ValueError("the platform's signature does not verify: the record was changed") from None
    return digest


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: offline_verify.py record.json ca.pem", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        published = json.load(f)
    with open(argv[1], "rb") as f:
        ca_pem = f.read()
    try:
        digest = verify(published, ca_pem)
    except (ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    record = published["record"]
    if "round" in record:  # an evaluation record (its lottery draw is recomputed by lottery.py)
        print(f"VERIFIED {record['tender']} evaluation round {record['round']} ({record['method']}), SHA-256 {digest}")
    else:
        print(f"VERIFIED {record['tender']} opening record, SHA-256 {digest}, opened at {record['opened_at']}")
    for row in record["bids"]:
        print(f"  {row['uscc']}  {row['agency']}  price {row['price']}  {row['result']}  {row['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

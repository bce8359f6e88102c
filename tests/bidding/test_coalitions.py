"""Who can read a bid, and when: every cell of the table in docs/crypto.md, checked cryptographically.

The table is read from the document, so the document and the proof cannot drift apart. For each state (policy ×
moment) a real tender gets real sealed bids; then each coalition gets exactly the material the document grants it
and tries everything that material allows on the target bid's sealed file: every wrapped share it can obtain and
unwrap (through the API for holders, which refuses before the opening; from the database for the database side),
every submitted share at rest, every 32-byte value stored anywhere in the database as a key, the agency's own key
when the agency is in, and every combination of shares that rebuilds the opening key. A "no" cell holds only if
none of it opens the bid; a "yes" cell only if the bid's signed plaintext comes out."""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from agencies.ca import platform_ca
from bidding import crypto, protocol
from bidding.models import Bid, KeyShare, OpeningKey
from bidding.services.opening_keys import share_context
from core import clock
from market.choices import TenderStatus
from procurement.services.timeline import run_due_steps
from tests.bidding.test_opening_keys import _every_stored_value
from tests.bidding.test_opening_secrets import fetch_and_submit
from tests.conftest import client_for
from tests.factories import HOLDER_KEYS, LAYER_KEYS, bidder_lock_profile

DOC = Path(settings.BASE_DIR) / "docs" / "crypto.md"
COLUMNS = {
    ("threshold", "before"): "opening key only: before the deadline",
    ("threshold", "during"): "opening key only: during the opening",
    ("threshold_and_bidder", "before"): "bidder's lock: before the deadline",
    ("threshold_and_bidder", "during"): "bidder's lock: during the opening, before the bidder releases",
}


@dataclass(frozen=True)
class Coalition:
    holders: tuple[str, ...] = ()  # roles whose private keys are in
    database: bool = False  # every stored value and every stored file
    administrators: bool = False  # the database side plus the CA key and the settings
    agency: bool = False  # the target agency's keys


PARTIES = {
    "one holder": Coalition(holders=("purchaser",)),
    "two holders": Coalition(holders=("purchaser", "trading_centre")),
    "the platform's administrators": Coalition(database=True, administrators=True),
    "a database administrator": Coalition(database=True),
    "one holder + a database administrator": Coalition(holders=("purchaser",), database=True),
    "two holders + a database administrator": Coalition(holders=("purchaser", "trading_centre"), database=True),
}
for _name, _c in list(PARTIES.items()):
    PARTIES[f"{_name} + the agency"] = Coalition(_c.holders, _c.database, _c.administrators, agency=True)


def documented_table() -> dict[str, dict[str, bool]]:
    """The table of docs/crypto.md: coalition → column → can read."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Who can read a bid, and when", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table: dict[str, dict[str, bool]] = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        verdicts = {}
        for column, cell in zip(header[1:], cells[1:], strict=True):
            found = re.match(r"\*\*(yes|no)\*\*", cell)
            assert found, f"cell {cell!r} of {cells[0]!r} starts with neither **yes** nor **no**"
            verdicts[column] = found.group(1) == "yes"
        table[cells[0]] = verdicts
    return table


def test_the_table_covers_every_party_with_and_without_the_agency():
    table = documented_table()
    assert set(table) == set(PARTIES)
    assert all(set(row) == set(COLUMNS.values()) for row in table.values())


def _key_candidates(values: list[bytes]) -> set[bytes]:
    """Every 32-byte value the database holds, raw or spelled in hex or base64: what an attacker would try."""
    found: set[bytes] = set()
    for value in values:
        spellings = {value}
        for token in re.split(rb"[^0-9A-Za-z+/=]+", value):
            if len(token) == 64:
                with contextlib.suppress(ValueError):
                    spellings.add(bytes.fromhex(token.decode()))
            if 43 <= len(token) <= 44:
                with contextlib.suppress(binascii.Error, ValueError):
                    spellings.add(base64.b64decode(token + b"=" * (-len(token) % 4)))
        found |= {s for s in spellings if len(s) == 32}
    return found


def can_read(coalition: Coalition, tender, target: Bid) -> bool:
    """Everything ``coalition`` can try on ``target``'s sealed file; True when the signed bid comes out."""
    opening_key = OpeningKey.objects.get(tender=tender)
    rows = list(KeyShare.objects.filter(opening_key=opening_key).select_related("holder", "certificate"))
    holders = [row.holder for row in rows if row.role in coalition.holders]
    database = coalition.database or coalition.administrators
    wrapped: list[tuple[bytes, dict]] = []
    shares: set[tuple[int, bytes]] = set()
    if database:
        wrapped += [(bytes(row.wrapped), share_context(tender, row)) for row in rows]
        shares |= {(row.index, bytes(row.submitted_share)) for row in rows if bytes(row.submitted_share)}
    for holder in holders:
        answer = client_for(holder).get(f"/api/tenders/{tender.pk}/opening/share/")
        if answer.status_code == 200:
            wrapped.append((base64.b64decode(answer.json()["wrapped"]), answer.json()["context"]))
    for (blob, context), holder in itertools.product(wrapped, holders):
        try:
            shares.add(
                (
                    context["index"],
                    crypto.unwrap_share(
                        wrapped=blob, holder_private_key=HOLDER_KEYS[holder.username], associated=context
                    ),
                )
            )
        except crypto.CryptoError:
            continue
    keys: set[bytes] = set()
    public = bytes.fromhex(opening_key.public_key)
    for combination in itertools.combinations(sorted(shares), opening_key.threshold):
        try:
            keys.add(crypto.combine_shares(list(combination), t=opening_key.threshold, expected_public=public))
        except crypto.CryptoError:
            continue
    if database:
        keys |= _key_candidates(_every_stored_value())
    if coalition.administrators:
        ca_key = platform_ca().key
        keys.add(ca_key.private_bytes_raw() if hasattr(ca_key, "private_bytes_raw") else b"")
        keys |= _key_candidates([settings.SECRET_KEY.encode()])
    if coalition.agency and target.layer_public:
        keys.add(LAYER_KEYS[target.layer_public])
    keys.discard(b"")
    envelope = (
        Path(settings.MEDIA_ROOT) / "bids" / target.ciphertext_digest[:2] / target.ciphertext_digest
    ).read_bytes()
    org = target.agency
    layers = [protocol.sealed_context(tender=tender.reference, agency=org.uscc)]
    if target.layer_public:
        layers.append(protocol.layer_context(tender=tender.reference, agency=org.uscc))
    return _peel(envelope, layers, keys)


def _peel(data: bytes, layers: list[dict], keys: set[bytes]) -> bool:
    if not layers:
        return data.startswith(protocol.BID_MAGIC)
    for key in keys:
        try:
            inner = crypto.open_sealed(envelope=data, recipient_private=key, associated=layers[0])
        except crypto.CryptoError:
            continue
        if _peel(inner, layers[1:], keys):
            return True
    return False


@pytest.mark.parametrize(("policy", "moment"), list(COLUMNS))
def test_every_cell_of_the_table_holds(world, policy, moment):
    profile = bidder_lock_profile() if policy == "threshold_and_bidder" else None
    tender = world.in_state(TenderStatus.PUBLISHED, **({"profile": profile} if profile else {}))
    bids = [world.sealed_bid(tender, agency) for agency in world.agencies]
    target = bids[0]
    if moment == "before":
        clock.freeze(tender.bid_deadline - timedelta(seconds=1))
    else:
        clock.freeze(tender.bid_deadline)
        run_due_steps()
        # The worst moment of each policy: t - 1 shares at rest with the opening key only (the t-th opens the
        # bids), t shares at rest with the bidder's lock (the opening waits for the bidders).
        fetch_and_submit(tender, world.supervisor)
        if policy == "threshold_and_bidder":
            fetch_and_submit(tender, world.operator)
        target.refresh_from_db()
        assert target.status == "submitted" and target.layer_released_at is None
    column = COLUMNS[(policy, moment)]
    wrong = {
        name: expected
        for name, row in documented_table().items()
        if can_read(PARTIES[name], tender, target) != (expected := row[column])
    }
    assert not wrong, f"docs/crypto.md says, for {column!r}, can read = {wrong}; the keys say otherwise"

"""Point 6 (faults), the agency's side: the client reports a cut-off answer, a reset connection, an answer that is
not HTTP and an unreachable server clearly (code, both languages, exit status 3, never a traceback), and `submit`
sends the bid again with the same idempotency key, so a bid the server did receive is never taken twice."""

from __future__ import annotations

import json
import socket

import pytest

from bidding.models import Bid
from tests.bidding.flaky_proxy import flaky_proxy
from tests.bidding.test_client import Agency, live

FAST = ("--retry-wait", "0")


@pytest.fixture
def sealed(agency, tender):
    return agency.build(tender)


def _submit_through(agency: Agency, proxy: str, tender, bid, *extra: object) -> tuple[int, str, str]:
    auth = ["--server", proxy, *agency.auth[2:]]
    return agency.run("submit", *auth, "--tender", tender.pk, "--bid", bid, *FAST, *extra)


@live
def test_a_cut_off_receipt_is_fetched_again_with_the_same_key(agency, tender, sealed, live_server):
    with flaky_proxy(live_server.url, ["cut"]) as proxy:
        code, out, err = _submit_through(agency, proxy, tender, sealed)
    assert code == 0, err
    assert "response_cut_off: The answer to " in err and " / 服务器对 " in err
    assert "retrying in 0 s with the same idempotency key (attempt 2 of 4)" in err
    # The first attempt was received; the second got its receipt back, not a second bid.
    assert "was already received" in out and "not a new bid" in out
    bid = Bid.objects.get(tender=tender)
    saved = json.loads((agency.dir / "bid.sealed.receipt.json").read_text())
    assert saved["receipt"]["bid"] == bid.pk and saved["receipt"]["digest"] == bid.ciphertext_digest
    assert Bid.objects.filter(tender=tender).count() == 1


@live
def test_a_request_dropped_before_the_server_is_sent_again(agency, tender, sealed, live_server):
    with flaky_proxy(live_server.url, ["drop", "garbage"]) as proxy:
        code, out, err = _submit_through(agency, proxy, tender, sealed)
    assert code == 0, err
    assert err.count("connection_lost: ") == 2  # the reset, then the line that was not HTTP
    assert "(RemoteDisconnected)" in err and "(BadStatusLine)" in err
    assert "attempt 3 of 4" in err and "Traceback" not in err
    # The "garbage" attempt reached the server: the third attempt is answered with that receipt.
    assert "was already received" in out
    assert Bid.objects.filter(tender=tender).count() == 1


@live
def test_giving_up_says_what_is_known_and_running_again_is_safe(agency, tender, sealed, live_server):
    with flaky_proxy(live_server.url, ["lost", "lost", "lost"]) as proxy:
        code, out, err = _submit_through(agency, proxy, tender, sealed, "--retries", "2")
    assert code == 3, (out, err)
    assert err.count("connection_lost: ") == 3 and "Traceback" not in err
    assert err.count("retrying in 0 s") == 2
    assert "the server may have done what was asked. Gave up after 3 attempt(s). The bid may or may not have" in err
    assert "已尝试 3 次仍失败" in err
    assert not (agency.dir / "bid.sealed.receipt.json").exists(), "no receipt is saved without one verified"
    # Every attempt reached the server, which took the bid once.
    assert Bid.objects.filter(tender=tender).count() == 1

    # The same command, once the network is back: the first receipt, still one bid.
    code, out, err = agency.submit(tender, sealed)
    assert code == 0, err
    assert "was already received" in out
    assert Bid.objects.filter(tender=tender).count() == 1


@live
def test_refusals_are_not_retried(agency, tender, sealed, live_server):
    """A refusal is an answer: sending it again would change nothing."""
    agency.submit(tender, sealed)
    bid = Bid.objects.get(tender=tender)
    signed = ["--key", agency.key, "--certificate", agency.cert]
    assert agency.run("withdraw", *agency.auth, "--tender", tender.pk, "--bid-id", bid.pk, *signed)[0] == 0
    with flaky_proxy(live_server.url, ["pass"]) as proxy:
        code, _, err = _submit_through(agency, proxy, tender, sealed)
    assert code == 1 and err.startswith("bid_not_standing: ") and "retrying" not in err


@live
def test_an_unreachable_server_is_exit_3_and_nothing_is_sent(agency, tender, sealed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    code, _, err = agency.run(
        "submit", "--server", f"http://127.0.0.1:{port}", *agency.auth[2:], "--tender", tender.pk, "--bid", sealed
    )
    assert code == 3
    assert err.startswith(f"connection_failed: Cannot reach http://127.0.0.1:{port}: ") and "Nothing was sent" in err
    assert "请求未发出" in err and "Traceback" not in err
    assert not Bid.objects.filter(tender=tender).exists()


@live
def test_an_outage_answer_is_waited_out_and_a_missing_ca_is_not(agency, tender, sealed, live_server, settings):
    """503 service_unavailable (the database is down: nothing was done) is retried; 503 ca_not_configured is a
    setting that will not change by itself: reported once, exit 1."""
    with flaky_proxy(live_server.url, ["outage"]) as proxy:
        code, out, err = _submit_through(agency, proxy, tender, sealed)
    assert code == 0, err
    assert "service_unavailable: The service is briefly unavailable" in err and "attempt 2 of 4" in err
    assert "received at" in out and "already" not in out  # the outage attempt never reached the server
    assert Bid.objects.filter(tender=tender).count() == 1

    settings.AGORA_CA_CERT_FILE = settings.AGORA_CA_KEY_FILE.parent / "missing.pem"
    code, _, err = agency.submit(tender, sealed, "--retry-wait", "0")
    assert code == 1 and err.startswith("ca_") and "retrying" not in err, err

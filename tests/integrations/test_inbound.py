"""Authentication of inbound calls: HMAC over timestamp and body, replay window."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from integrations.exceptions import BadCallbackSignature, StaleRequest
from integrations.inbound import sign_inbound, verify_inbound

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
BODY = b'{"MaHoSo": "G22.1"}'


def signed(body=BODY, at=NOW, secret="s"):
    headers = sign_inbound(body, secret=secret, at=at)
    return headers["X-Timestamp"], headers["X-Signature"]


def test_a_fresh_correctly_signed_call_is_accepted():
    timestamp, signature = signed()
    assert verify_inbound(BODY, timestamp, signature, secret="s", now=NOW) == NOW


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    timestamp, signature = signed()
    assert timestamp == str(int(NOW.timestamp()))
    assert signature == hmac.new(b"s", timestamp.encode() + b"." + BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("change", ["body", "secret", "timestamp", "signature", "empty"])
def test_anything_altered_is_refused(change):
    timestamp, signature = signed()
    body, secret = BODY, "s"
    if change == "body":
        body = BODY.replace(b"1", b"2")
    elif change == "secret":
        secret = "other"
    elif change == "timestamp":
        timestamp = str(int(timestamp) + 1)
    elif change == "signature":
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    else:
        signature = ""
    with pytest.raises(BadCallbackSignature) as caught:
        verify_inbound(body, timestamp, signature, secret=secret, now=NOW)
    assert not isinstance(caught.value, StaleRequest)
    assert caught.value.http_status == 401


@pytest.mark.parametrize("skew", [301, -301, 86400])
def test_a_call_signed_outside_the_window_is_refused(skew):
    timestamp, signature = signed(at=NOW - timedelta(seconds=skew))
    with pytest.raises(StaleRequest):
        verify_inbound(BODY, timestamp, signature, secret="s", now=NOW, window=300)


def test_the_window_edge_is_still_accepted():
    timestamp, signature = signed(at=NOW - timedelta(seconds=300))
    verify_inbound(BODY, timestamp, signature, secret="s", now=NOW, window=300)


@pytest.mark.parametrize("timestamp", ["", "abc", "1e9", "-1"])
def test_malformed_timestamps_are_refused(timestamp):
    _, signature = signed()
    with pytest.raises(BadCallbackSignature):
        verify_inbound(BODY, timestamp, signature, secret="s", now=NOW)


def test_without_a_secret_every_call_is_refused():
    timestamp, signature = signed(secret="")
    with pytest.raises(BadCallbackSignature):
        verify_inbound(BODY, timestamp, signature, secret="", now=NOW)


def test_the_simulator_forwards_dossiers_signed_so_we_can_verify_them(simulator, receiver, db):
    from integrations.adapters.fake import FakePortalAdapter

    status, _answer = simulator.portals["national"].send_inbound_dossier(
        receiver.url + "/inbound", secret="inbound-secret", idempotency_key="in-1"
    )

    assert status == 200
    [(path, headers, body)] = receiver.received
    assert headers["Idempotency-Key"] == "in-1"
    verify_inbound(body, headers["X-Timestamp"], headers["X-Signature"], secret="inbound-secret",
                   now=datetime.now(tz=UTC))
    dossier = FakePortalAdapter("national").parse_inbound_dossier(body)
    assert dossier.applicant_id == "3200123456" and dossier.channel == "national_portal"

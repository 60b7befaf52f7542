"""The payment platform adapter against the simulator: bills, callbacks, status queries."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from integrations.base import (
    BeneficiaryAccount,
    PaymentProvider,
    PaymentStatus,
    TransactionStatus,
)
from integrations.exceptions import (
    BadCallbackSignature,
    InvalidPayload,
    PortalAuthFailed,
    PortalRejected,
    PortalUnavailable,
    StaleRequest,
)
from integrations.http import PaymentConfig
from integrations.payment_providers.platform import PlatformPaymentProvider
from integrations.simulator import DROP, ERROR
from integrations.wire import with_checksum

from .builders import bill
from .conftest import MERCHANT_ID, PAYMENT_SECRET


def now() -> datetime:
    return datetime.now(tz=UTC)


@pytest.fixture
def paid_callback(platform, simulator, receiver):
    """Open a bill whose callbacks go to the receiver; returns a function that pays it."""
    simulator.payment.callback_url = receiver.url + "/callback"

    def pay(**kwargs):
        intent = platform.create_transaction(bill(), idempotency_key="bill-1")
        simulator.payment.pay(intent.reference, **kwargs)
        return intent

    return pay


def test_create_transaction_bills_the_dossier_and_returns_a_redirect(platform, simulator):
    assert isinstance(platform, PaymentProvider)
    intent = platform.create_transaction(bill(), idempotency_key="bill-1")

    tx = simulator.payment.transactions[intent.reference]
    assert (tx.dossier_code, tx.procedure_code, tx.amount) == ("SCT-250303-0001", "2.000648",
                                                              1_200_000)
    assert intent.amount == 1_200_000 and intent.provider == "platform"
    assert intent.redirect_url == f"{simulator.url_for('payment')}/pay/{intent.reference}"
    page = requests.get(intent.redirect_url, timeout=2)
    assert page.status_code == 200 and "SCT-250303-0001" in page.text


def test_the_bill_carries_the_beneficiary_account(platform, simulator):
    configured = platform.create_transaction(bill(), idempotency_key="a")
    own = BeneficiaryAccount("999", "BIDV", "TRUNG TAM PHVHC")
    chosen = platform.create_transaction(bill(beneficiary=own), idempotency_key="b")

    transactions = simulator.payment.transactions
    assert transactions[configured.reference].beneficiary == {
        "SoTaiKhoan": "0011223344", "MaNganHang": "VCB", "TenChuTaiKhoan": "SO CONG THUONG"}
    assert transactions[chosen.reference].beneficiary == {
        "SoTaiKhoan": "999", "MaNganHang": "BIDV", "TenChuTaiKhoan": "TRUNG TAM PHVHC"}


def test_creating_twice_with_one_key_opens_one_transaction(platform, simulator):
    simulator.fail_next("payment", DROP)
    with pytest.raises(PortalUnavailable):
        platform.create_transaction(bill(), idempotency_key="bill-1")

    intent = platform.create_transaction(bill(), idempotency_key="bill-1")

    assert list(simulator.payment.transactions) == [intent.reference]


def test_platform_errors_are_typed(platform, simulator):
    simulator.fail_next("payment", ERROR)
    with pytest.raises(PortalUnavailable):
        platform.create_transaction(bill(), idempotency_key="x")
    with pytest.raises(PortalRejected) as caught:
        platform.create_transaction(bill(amount=0), idempotency_key="y")
    assert caught.value.status == 400
    wrong = PlatformPaymentProvider(PaymentConfig(
        base_url=simulator.url_for("payment"), merchant_id=MERCHANT_ID, secret="wrong",
        beneficiary=platform.config.beneficiary,
    ))
    with pytest.raises(PortalAuthFailed) as caught:  # our secret: retried, and alerted
        wrong.create_transaction(bill(), idempotency_key="z")
    assert caught.value.status == 401 and caught.value.retryable
    assert caught.value.alert == "credentials"


def test_a_genuine_callback_verifies_into_a_notification(platform, paid_callback, receiver):
    intent = paid_callback()

    [(path, _headers, body)] = receiver.received
    notification = platform.verify_callback(body, now=now())

    assert path == "/callback"
    assert notification.reference == intent.reference
    assert notification.status == PaymentStatus.PAID and notification.paid_at is not None
    assert notification.amount == 1_200_000 and notification.bank_transaction_no
    assert notification.mismatches(amount=1_200_000, dossier_code="SCT-250303-0001") == ()


def test_a_forged_checksum_is_refused(platform, paid_callback, receiver):
    paid_callback()
    fields = json.loads(receiver.received[0][2])
    forged = {**fields, "SoTien": 1}

    with pytest.raises(BadCallbackSignature) as caught:
        platform.verify_callback(json.dumps(forged).encode(), now=now())
    assert caught.value.http_status == 401
    resigned = with_checksum({k: v for k, v in forged.items() if k != "checksum"}, "guess")
    with pytest.raises(BadCallbackSignature):
        platform.verify_callback(json.dumps(resigned).encode(), now=now())


def test_a_replayed_old_callback_is_refused(platform, paid_callback, receiver):
    paid_callback()
    body = receiver.received[0][2]

    platform.verify_callback(body, now=now() + timedelta(seconds=590))
    with pytest.raises(StaleRequest):
        platform.verify_callback(body, now=now() + timedelta(hours=2))


def test_a_callback_for_the_wrong_amount_is_reported_for_the_caller_to_refuse(
    platform, paid_callback, receiver
):
    paid_callback(amount=120_000)

    notification = platform.verify_callback(receiver.received[0][2], now=now())

    assert notification.amount == 120_000
    assert notification.mismatches(amount=1_200_000, dossier_code="SCT-250303-0001") == ("amount",)
    assert notification.mismatches(amount=120_000, dossier_code="OTHER") == ("dossier_code",)


def test_duplicate_callbacks_are_identical(platform, paid_callback, receiver, simulator):
    simulator.payment.set_callback_mode("duplicate")
    paid_callback()

    first, second = (platform.verify_callback(b, now=now()) for _, _, b in receiver.received)
    assert first == second


def test_out_of_order_callbacks_carry_their_signing_time(platform, paid_callback, receiver,
                                                         simulator):
    simulator.payment.set_callback_mode("out_of_order")
    paid_callback()

    final, stale = (platform.verify_callback(b, now=now()) for _, _, b in receiver.received)
    assert (final.status, stale.status) == (PaymentStatus.PAID, PaymentStatus.PENDING)
    assert stale.sent_at < final.sent_at  # the caller keeps the newest


def test_a_callback_that_never_comes_is_settled_by_querying(platform, paid_callback, receiver,
                                                            simulator):
    simulator.payment.set_callback_mode("never")
    intent = paid_callback()
    assert receiver.received == []

    status = platform.query_transaction(intent.reference)

    assert status.status == PaymentStatus.PAID and status.amount == 1_200_000
    assert status.dossier_code == "SCT-250303-0001" and status.paid_at is not None
    assert simulator.payment.queries_answered == 1


def test_querying_an_unknown_or_pending_transaction(platform):
    with pytest.raises(PortalRejected) as caught:
        platform.query_transaction("PG-NOPE")
    assert caught.value.status == 404
    intent = platform.create_transaction(bill(), idempotency_key="b")
    assert platform.query_transaction(intent.reference).status == PaymentStatus.PENDING


def test_malformed_callbacks_are_invalid_payloads(platform):
    with pytest.raises(InvalidPayload):
        platform.verify_callback(b"<xml/>", now=now())
    signed = with_checksum({"MaDoiTac": MERCHANT_ID, "ThoiGian": "yesterday"}, PAYMENT_SECRET)
    with pytest.raises(InvalidPayload):
        platform.verify_callback(json.dumps(signed).encode(), now=now())


def test_we_answer_the_platforms_status_query_signed(platform, simulator, receiver):
    intent = platform.create_transaction(bill(), idempotency_key="b")

    def answer(path, headers, body):
        query = platform.parse_status_query(body, now=now())
        status = TransactionStatus(
            provider="platform", reference=query.reference, dossier_code=query.dossier_code,
            amount=1_200_000, status=PaymentStatus.PENDING,
        )
        return 200, platform.answer_status_query(status, now=now())

    receiver.respond = answer
    status, body, checksum_valid = simulator.payment.query_merchant(intent.reference,
                                                                    receiver.url + "/query")

    assert status == 200 and checksum_valid
    assert body["MaGiaoDich"] == intent.reference and body["TrangThai"] == "01"
    assert body["SoTien"] == 1_200_000


def test_a_forged_status_query_is_refused(platform):
    forged = with_checksum({"MaDoiTac": MERCHANT_ID, "MaGiaoDich": "PG1",
                            "ThoiGian": "20250303080000"}, "not-the-secret")
    with pytest.raises(BadCallbackSignature):
        platform.parse_status_query(json.dumps(forged).encode(), now=now())

"""The fake payment provider: the default, with the real message formats."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import PaymentBill, PaymentProvider, PaymentStatus
from integrations.exceptions import BadCallbackSignature, PortalRejected, StaleRequest
from integrations.payment_providers.fake import FakePaymentProvider

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def test_fake_bills_pays_and_signs_callbacks_like_the_platform():
    fake = FakePaymentProvider()
    assert isinstance(fake, PaymentProvider)
    intent = fake.create_transaction(
        PaymentBill("SCT-1", "2.000648", 500_000, return_url="http://127.0.0.1:8000/p?x=1"),
        idempotency_key="k",
    )
    assert intent.redirect_url == f"http://127.0.0.1:8000/p?x=1&reference={intent.reference}"
    assert fake.create_transaction(PaymentBill("SCT-1", "2.000648", 500_000),
                                   idempotency_key="k") == intent
    assert fake.query_transaction(intent.reference).status == PaymentStatus.PENDING

    fake.complete(intent.reference, at=NOW)
    notification = fake.verify_callback(fake.signed_callback(intent.reference, sent_at=NOW),
                                        now=NOW)

    assert notification.status == PaymentStatus.PAID and notification.paid_at == NOW
    assert fake.query_transaction(intent.reference).status == PaymentStatus.PAID


def test_fake_callbacks_can_be_forged_stale_or_wrong_for_caller_tests():
    fake = FakePaymentProvider()
    ref = fake.create_transaction(PaymentBill("SCT-1", "P", 10), idempotency_key="k").reference
    fake.complete(ref, at=NOW)

    with pytest.raises(BadCallbackSignature):
        fake.verify_callback(fake.signed_callback(ref, sent_at=NOW, secret="x"), now=NOW)
    with pytest.raises(StaleRequest):
        fake.verify_callback(fake.signed_callback(ref, sent_at=NOW - timedelta(hours=1)), now=NOW)
    wrong = fake.verify_callback(fake.signed_callback(ref, sent_at=NOW, amount=9), now=NOW)
    assert wrong.mismatches(amount=10, dossier_code="SCT-1") == ("amount",)
    with pytest.raises(PortalRejected):
        fake.query_transaction("nope")


def _bill_in_child(fake: FakePaymentProvider, key: str, answers) -> None:
    answers.put(fake.create_transaction(PaymentBill("SCT-2", "P", 10), idempotency_key=key)
                .reference)


def test_a_forked_copy_of_the_fake_never_hands_out_a_reference_twice():
    """The demo's walkers are forked with a copy of the fake: each pays its own dossiers."""
    import multiprocessing

    fake = FakePaymentProvider()
    first = fake.create_transaction(PaymentBill("SCT-1", "P", 10), idempotency_key="a").reference
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    children = [context.Process(target=_bill_in_child, args=(fake, "b", answers))
                for _ in range(2)]
    for child in children:
        child.start()
    in_children = {answers.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)
    here = fake.create_transaction(PaymentBill("SCT-2", "P", 10), idempotency_key="b").reference

    assert first == "FAKE-000001" and here == "FAKE-000002"
    assert len(in_children) == 2 and here not in in_children
    assert all(ref.startswith("FAKE-") and ref.endswith("-000002") for ref in in_children)

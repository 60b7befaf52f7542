"""Payments end to end with the fake provider: opening, callbacks, status queries, the return
URL and reconciliation. The same flows against the simulator are in test_sync_faults.py."""

import json
import logging
from dataclasses import replace
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from dossiers.exceptions import InvalidTransition, PaymentMismatch, PaymentRequired
from dossiers.models import DailySummary, Dossier, Payment
from dossiers.services import workflow
from dossiers.services.indicators import summary_count_paid_online
from dossiers.services.payments import (
    payment_confirm,
    payment_payable,
    payment_reconcile,
    payment_record_at_counter,
    payment_refresh_for,
    payment_start,
)
from dossiers.tasks import reconcile_payments
from integrations.exceptions import PortalUnavailable
from integrations.payment_providers import codec
from integrations.payment_providers.fake import FAKE_SECRET, FakePaymentProvider
from integrations.registry import override_payment_provider
from integrations.wire import checksum_matches, format_vn, with_checksum
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory

CALLBACK = "api:dossiers:integrations:payment_callback"
STATUS = "api:dossiers:integrations:payment_status"


@pytest.fixture
def fake():
    with override_payment_provider(FakePaymentProvider()) as provider:
        yield provider


@pytest.fixture
def dossier(applicant, pdf_file):
    dossier = DossierFactory(applicant=applicant,
                             procedure=ProcedureFactory(fee_at_submission=True))
    workflow_upload(dossier, applicant, pdf_file)
    return dossier


def workflow_upload(dossier, applicant, pdf_file) -> None:
    from dossiers.services.documents import document_upload

    document_upload(dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
                    uploaded_file=pdf_file())


def post_callback(client, body: bytes):
    return client.post(reverse(CALLBACK), data=body, content_type="application/json")


def bill_code(dossier) -> str:
    return f"SCT-NHAP-{dossier.pk}"


def _row(payment: Payment) -> tuple:
    payment.refresh_from_db()
    return (payment.status, payment.paid_at, payment.confirmed_by, payment.bank_transaction_no)


# --- opening -------------------------------------------------------------------------


def test_starting_a_payment_opens_a_transaction_and_keeps_it_pending(fake, dossier, applicant):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)

    [call] = fake.calls
    bill = call.argument
    assert call.operation == "create_transaction" and call.idempotency_key == payment.request_key
    assert (bill.dossier_code, bill.procedure_code, bill.amount) == (
        bill_code(dossier), dossier.procedure.national_code, 1_200_000)
    # The browser comes back to a page people read, which asks the provider itself.
    assert bill.return_url == "http://127.0.0.1:8000" + reverse(
        "web:applicant:payment_return", args=[payment.pk])
    assert (payment.status, payment.provider, payment.provider_reference) == (
        "pending", "fake", "FAKE-000001")
    assert payment.redirect_url == bill.return_url + "?reference=FAKE-000001"
    assert payment.paid_at is None


def test_starting_again_returns_the_open_payment_without_a_second_transaction(
    fake, dossier, applicant
):
    first = payment_start(dossier_id=dossier.pk, actor=applicant)
    second = payment_start(dossier_id=dossier.pk, actor=applicant)
    assert second.pk == first.pk
    assert len(fake.calls) == 1 and Payment.objects.count() == 1


def test_a_first_payment_is_opened_without_looking_for_others(fake, dossier, applicant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        first = payment_start(dossier_id=dossier.pk, actor=applicant)
    # The lock's own query said the dossier had no payment: no other read of the table
    # before the insert.
    statements = [q["sql"] for q in captured.captured_queries]
    inserted = next(i for i, sql in enumerate(statements)
                    if sql.startswith('INSERT INTO "dossiers_payment"'))
    assert not [sql for sql in statements[:inserted]
                if 'FROM "dossiers_payment"' in sql.split("EXISTS")[0]]
    # A second start does look, and finds the open one.
    assert payment_start(dossier_id=dossier.pk, actor=applicant).pk == first.pk


def test_a_reserved_payment_s_dossier_lists_it_though_the_lock_read_none(
    dossier, applicant, django_assert_num_queries
):
    from dossiers.services.payments import _payment_reserve

    payment = _payment_reserve(dossier_id=dossier.pk, actor=applicant, provider="fake")

    with django_assert_num_queries(0):
        assert [p.pk for p in payment.dossier.payments.all()] == [payment.pk]


def test_a_lost_answer_is_asked_again_under_the_same_key_and_opens_one_transaction(
    fake, dossier, applicant
):
    fake.fail_next(PortalUnavailable())
    with pytest.raises(PortalUnavailable):
        payment_start(dossier_id=dossier.pk, actor=applicant)
    payment = Payment.objects.get()
    assert (payment.status, payment.provider_reference) == ("pending", "")

    again = payment_start(dossier_id=dossier.pk, actor=applicant)

    assert again.pk == payment.pk and again.provider_reference == "FAKE-000001"
    assert [c.idempotency_key for c in fake.calls] == [payment.request_key] * 2
    assert list(fake.transactions) == ["FAKE-000001"]


@pytest.mark.django_db(transaction=True)
def test_the_provider_is_called_outside_any_database_transaction(applicant, pdf_file):
    seen = []

    class Watching(FakePaymentProvider):
        def create_transaction(self, bill, *, idempotency_key):
            seen.append(connection.in_atomic_block)
            return super().create_transaction(bill, idempotency_key=idempotency_key)

    dossier = DossierFactory(applicant=applicant,
                             procedure=ProcedureFactory(fee_at_submission=True))
    with override_payment_provider(Watching()):
        payment_start(dossier_id=dossier.pk, actor=applicant)
    assert seen == [False]


def test_the_start_endpoint_answers_the_redirect_and_does_not_mark_paid(
    fake, dossier, applicant, api_client_for
):
    response = api_client_for(applicant).post(reverse("api:dossiers:pay", args=[dossier.pk]))
    payment = Payment.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "id": payment.pk, "amount": 1_200_000, "status": "pending", "provider": "fake",
        "provider_reference": "FAKE-000001", "redirect_url": payment.redirect_url,
    }


def test_an_officer_cannot_start_a_payment(fake, dossier, reception, api_client_for):
    response = api_client_for(reception).post(reverse("api:dossiers:pay", args=[dossier.pk]))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Payment.objects.exists() and not fake.calls


# --- callbacks -------------------------------------------------------------------------


def test_a_verified_callback_marks_the_payment_paid(fake, dossier, applicant, api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    done = fake.complete(payment.provider_reference)

    response = post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))

    assert response.status_code == 200
    assert response.json() == {"code": "ok", "reference": "FAKE-000001", "status": "paid",
                               "changed": True}
    status, paid_at, confirmed_by, bank_no = _row(payment)
    assert (status, confirmed_by, bank_no) == ("paid", "callback:fake", "BANK-FAKE-000001")
    # The wire carries whole seconds.
    assert paid_at == done.paid_at.replace(microsecond=0)


def test_a_fee_due_at_submission_blocks_submit_until_the_callback_comes(
    fake, dossier, applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    with pytest.raises(PaymentRequired):
        workflow.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))
    assert workflow.dossier_submit(dossier_id=dossier.pk, actor=applicant).state == "submitted"


def test_a_duplicate_callback_changes_nothing(fake, dossier, applicant, api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    body = fake.signed_callback(payment.provider_reference)
    post_callback(api_client_for(), body)
    first = _row(payment)

    response = post_callback(api_client_for(), body)

    assert response.status_code == 200 and response.json()["changed"] is False
    assert _row(payment) == first


def test_a_pending_callback_after_the_paid_one_is_ignored(
    fake, dossier, applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    earlier = fake.signed_callback(payment.provider_reference)  # still pending when signed
    fake.complete(payment.provider_reference)
    post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))
    paid = _row(payment)

    response = post_callback(api_client_for(), earlier)

    assert response.status_code == 200
    assert response.json() == {"code": "ok", "reference": "FAKE-000001", "status": "paid",
                               "changed": False}
    assert _row(payment) == paid


def test_a_forged_checksum_is_a_401_and_changes_nothing(fake, dossier, applicant, api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    before = _row(payment)

    response = post_callback(
        api_client_for(), fake.signed_callback(payment.provider_reference, secret="guessed")
    )

    assert response.status_code == 401
    assert response.json() == {"code": "bad_signature",
                               "message": "Chữ ký hoặc mã kiểm tra không hợp lệ.", "extra": {}}
    assert _row(payment) == before


def test_a_replayed_old_callback_is_a_401(fake, dossier, applicant, api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    old = fake.signed_callback(payment.provider_reference,
                               sent_at=clock.now() - timedelta(hours=2))

    response = post_callback(api_client_for(), old)

    assert response.status_code == 401
    assert response.json()["code"] == "stale_request"
    assert _row(payment)[0] == "pending"


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": 1_000}, "amount"), ({"dossier_code": "SCT-250303-9999"}, "dossier_code"),
])
def test_a_callback_for_another_amount_or_dossier_is_refused_and_logged(
    fake, dossier, applicant, api_client_for, caplog, changes, field
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    before = _row(payment)

    with caplog.at_level(logging.WARNING, logger="dossiers.services.payments"):
        response = post_callback(
            api_client_for(), fake.signed_callback(payment.provider_reference, **changes)
        )

    assert response.status_code == 422
    told = {"amount": 1_200_000, "dossier_code": bill_code(dossier), **changes}
    assert response.json() == {
        "code": "payment_mismatch", "message": "Thông báo thanh toán không khớp với hóa đơn.",
        "extra": {"fields": [field],
                  "expected": {"amount": 1_200_000, "dossier_code": bill_code(dossier)},
                  "received": told},
    }
    assert _row(payment) == before
    assert f"{field} differ" in caplog.text and "FAKE-000001" in caplog.text


def test_a_callback_for_an_unknown_transaction_is_refused(fake, dossier, applicant,
                                                         api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.transactions["FAKE-999999"] = replace(fake.transactions[payment.provider_reference],
                                               reference="FAKE-999999")
    response = post_callback(api_client_for(), fake.signed_callback("FAKE-999999"))
    assert response.status_code == 422
    assert response.json()["extra"] == {"fields": ["reference"]}


def test_a_failed_payment_can_be_started_again_as_a_new_transaction(
    fake, dossier, applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference, status="failed")
    response = post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))
    assert response.json()["status"] == "failed"

    again = payment_start(dossier_id=dossier.pk, actor=applicant)

    assert again.pk != payment.pk and again.request_key != payment.request_key
    assert again.provider_reference == "FAKE-000002"


def test_a_malformed_but_signed_callback_is_a_400(fake, api_client_for, db):
    fields = with_checksum({"MaDoiTac": fake.merchant_id, "ThoiGian": format_vn(clock.now()),
                            "SoTien": "nhieu"}, FAKE_SECRET)
    response = post_callback(api_client_for(), json.dumps(fields).encode())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"


# --- the return URL and our own queries ----------------------------------------------


def test_the_browser_return_asks_the_provider_and_never_takes_the_browsers_word(
    fake, dossier, applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    url = reverse("api:dossiers:integrations:payment_return", args=[payment.pk])
    client = api_client_for(applicant)

    early = client.get(url, {"reference": payment.provider_reference, "status": "paid"})
    assert early.status_code == 200 and early.json()["status"] == "pending"
    fake.complete(payment.provider_reference)
    late = client.get(url)

    assert late.json()["status"] == "paid"
    assert [c.operation for c in fake.calls] == [
        "create_transaction", "query_transaction", "query_transaction"]
    assert _row(payment)[2] == "query:fake"


def test_the_return_of_another_applicants_payment_is_a_404(
    fake, dossier, applicant, other_applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    url = reverse("api:dossiers:integrations:payment_return", args=[payment.pk])
    response = api_client_for(other_applicant).get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "payment_not_found"
    assert [c.operation for c in fake.calls] == ["create_transaction"]


def test_the_return_while_the_provider_is_down_keeps_the_payment_pending(
    fake, dossier, applicant, api_client_for
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    fake.fail_next(PortalUnavailable())
    url = reverse("api:dossiers:integrations:payment_return", args=[payment.pk])
    response = api_client_for(applicant).get(url)
    assert response.status_code == 200 and response.json()["status"] == "pending"


def test_a_return_naming_another_transaction_is_refused_before_asking_anyone(
    fake, dossier, applicant
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    with pytest.raises(PaymentMismatch) as exc:
        payment_refresh_for(user=applicant, payment_id=payment.pk, reference="FAKE-999999")
    assert exc.value.extra == {"fields": ["reference"], "dossier_id": dossier.pk}
    assert [c.operation for c in fake.calls] == ["create_transaction"]
    assert _row(payment)[0] == "pending"

    outcome = payment_refresh_for(user=applicant, payment_id=payment.pk,
                                  reference=payment.provider_reference)
    assert (outcome.payment.status, outcome.changed) == ("paid", True)


def test_a_fee_is_payable_until_a_payment_settles_it_and_never_once_the_dossier_is_done(
    fake, dossier, applicant
):
    assert payment_payable(dossier) is True
    assert payment_payable(DossierFactory(applicant=applicant)) is False  # no fee
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    assert payment_payable(Dossier.objects.get(pk=dossier.pk)) is True  # pending: not settled
    fake.complete(payment.provider_reference)
    payment_refresh_for(user=applicant, payment_id=payment.pk)
    assert payment_payable(Dossier.objects.get(pk=dossier.pk)) is False
    done = DossierFactory(applicant=applicant, procedure=ProcedureFactory(fee_before_result=True),
                          submitted=True)
    assert payment_payable(done) is True
    Dossier.objects.filter(pk=done.pk).update(state=Dossier.State.WITHDRAWN)
    assert payment_payable(Dossier.objects.get(pk=done.pk)) is False


def _status_query(fake, reference: str, *, secret: str = FAKE_SECRET, **changes) -> bytes:
    fields = {"MaDoiTac": fake.merchant_id, "MaGiaoDich": reference,
              "ThoiGian": format_vn(clock.now()), **changes}
    return json.dumps(with_checksum(fields, secret)).encode()


def test_the_platform_status_query_gets_a_signed_answer(fake, dossier, applicant,
                                                        api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    client = api_client_for()

    def ask() -> dict:
        response = client.post(reverse(STATUS), data=_status_query(fake, "FAKE-000001"),
                               content_type="application/json")
        assert response.status_code == 200
        body = response.json()
        assert checksum_matches(body, FAKE_SECRET)
        return body

    pending = ask()
    fake.complete(payment.provider_reference)
    post_callback(client, fake.signed_callback(payment.provider_reference))
    paid = ask()

    assert (pending["TrangThai"], pending["SoTien"], pending["MaHoSo"]) == (
        "01", 1_200_000, bill_code(dossier))
    answer = codec.transaction_status_from("fake", paid, secret=FAKE_SECRET)
    assert (answer.status, answer.bank_transaction_no) == ("paid", "BANK-FAKE-000001")


def test_a_status_query_with_a_bad_checksum_or_an_unknown_reference_is_refused(
    fake, dossier, applicant, api_client_for
):
    payment_start(dossier_id=dossier.pk, actor=applicant)
    client = api_client_for()
    forged = client.post(reverse(STATUS), content_type="application/json",
                         data=_status_query(fake, "FAKE-000001", secret="guessed"))
    unknown = client.post(reverse(STATUS), content_type="application/json",
                          data=_status_query(fake, "FAKE-424242"))
    wrong_dossier = client.post(reverse(STATUS), content_type="application/json",
                                data=_status_query(fake, "FAKE-000001", MaHoSo="OTHER"))
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "payment_not_found")
    assert (wrong_dossier.status_code, wrong_dossier.json()["code"]) == (422, "payment_mismatch")


# --- reconciliation --------------------------------------------------------------------


def test_reconciliation_settles_a_payment_whose_callback_never_came(fake, dossier, applicant):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    later = clock.now() + timedelta(hours=1)

    with clock.frozen_at(later):
        report = payment_reconcile(older_than=timedelta(minutes=15))

    assert (report.checked, report.paid, report.errors) == (1, 1, 0)
    status, _paid_at, confirmed_by, _bank = _row(payment)
    assert (status, confirmed_by) == ("paid", "query:fake")
    assert payment.checked_at == later


def test_reconciliation_leaves_young_payments_to_their_callback(fake, dossier, applicant):
    payment_start(dossier_id=dossier.pk, actor=applicant)
    report = payment_reconcile(older_than=timedelta(minutes=15))
    assert report.checked == 0
    assert [c.operation for c in fake.calls] == ["create_transaction"]


def test_reconciliation_refuses_an_answer_for_another_amount_and_counts_the_error(
    fake, dossier, applicant, caplog
):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    ref = payment.provider_reference
    fake.transactions[ref] = replace(fake.transactions[ref], amount=1_000)

    with caplog.at_level(logging.WARNING, logger="dossiers.services.payments"):
        report = payment_reconcile(older_than=timedelta(0))

    assert (report.checked, report.paid, report.errors) == (1, 0, 1)
    assert _row(payment)[0] == "pending"
    assert "amount differ" in caplog.text


def test_reconciliation_survives_a_provider_outage(fake, dossier, applicant):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    fake.fail_next(PortalUnavailable())
    assert payment_reconcile(older_than=timedelta(0)).errors == 1
    assert payment_reconcile(older_than=timedelta(0)).paid == 1


def test_the_reconcile_task_uses_the_configured_age(fake, dossier, applicant):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    settled = []
    for age in (3600, 0):
        # A PAYMENT_ setting rebuilds the registry's provider: put the fake back inside.
        with override_settings(PAYMENT_RECONCILE_AFTER_SECONDS=age), \
                override_payment_provider(fake):
            settled.append(reconcile_payments.delay().get())
    assert settled == [0, 1]
    assert _row(payment)[0] == "paid"


def test_a_payment_confirmed_after_reception_counts_on_the_reception_day(
    fake, applicant, api_client_for
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(payment.provider_reference)
    post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))
    post_callback(api_client_for(), fake.signed_callback(payment.provider_reference))
    assert payment.bill_code == dossier.code
    assert DailySummary.objects.get().paid_online == 1


# --- money received twice ------------------------------------------------------------


def _paid_online() -> int:
    return sum(DailySummary.objects.values_list("paid_online", flat=True))


def _pay_by_callback(fake, client, payment: Payment, *, status: str = "paid") -> dict:
    fake.complete(payment.provider_reference, status=status)
    response = post_callback(client, fake.signed_callback(payment.provider_reference))
    assert response.status_code == 200, response.json()
    return response.json()


def _failed_then_paid_again(fake, dossier, applicant, client) -> tuple[Payment, Payment]:
    """A first online payment fails, a second one is opened and paid."""
    first = payment_start(dossier_id=dossier.pk, actor=applicant)
    _pay_by_callback(fake, client, first, status="failed")
    second = payment_start(dossier_id=dossier.pk, actor=applicant)
    _pay_by_callback(fake, client, second)
    return first, second


def test_a_late_paid_callback_for_a_failed_payment_is_an_overpayment_to_refund(
    fake, dossier, applicant, api_client_for, caplog
):
    client = api_client_for()
    first, second = _failed_then_paid_again(fake, dossier, applicant, client)

    with caplog.at_level(logging.WARNING, logger="dossiers.services.payments"):
        body = _pay_by_callback(fake, client, first)

    assert body == {"code": "ok", "reference": "FAKE-000001", "status": "overpaid",
                    "changed": True}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.settles_fee, first.refund_reason) == (
        "overpaid", False, "fee_already_settled")
    assert first.paid_at is not None and first.bank_transaction_no == "BANK-FAKE-000001"
    assert (second.status, second.settles_fee, second.refund_reason) == ("paid", True, "")
    assert f"payment {first.pk}" in caplog.text and f"payment {second.pk}" in caplog.text
    dossier.refresh_from_db()
    assert dossier.fee_paid
    # The platform asking about the late one hears that the money arrived.
    answer = api_client_for().post(reverse(STATUS), data=_status_query(fake, "FAKE-000001"),
                                   content_type="application/json").json()
    assert codec.transaction_status_from("fake", answer, secret=FAKE_SECRET).status == "paid"


def test_money_received_twice_after_acceptance_counts_paid_online_once(
    fake, applicant, api_client_for
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    client = api_client_for()
    first, _second = _failed_then_paid_again(fake, dossier, applicant, client)
    assert _paid_online() == 1

    _pay_by_callback(fake, client, first)
    post_callback(client, fake.signed_callback(first.provider_reference))

    assert _paid_online() == 1
    assert list(dossier.payments.order_by("pk").values_list("status", flat=True)) == [
        "overpaid", "paid"]


def _settle_by_callback(fake, client, payment):
    post_callback(client, fake.signed_callback(payment.provider_reference))


def _settle_by_reconciliation(fake, client, payment):
    report = payment_reconcile(older_than=timedelta(0))
    assert (report.checked, report.paid, report.overpaid) == (1, 0, 1)


def _settle_by_confirmation(fake, client, payment):
    payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                    amount=payment.amount, confirmed_by="provider:fake")


@pytest.mark.parametrize("settle", [
    _settle_by_callback, _settle_by_reconciliation, _settle_by_confirmation,
])
def test_a_desk_payment_while_an_online_one_is_pending_makes_the_online_one_an_overpayment(
    fake, applicant, reception, api_client_for, settle
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    online = payment_start(dossier_id=dossier.pk, actor=applicant)
    desk = payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    fake.complete(online.provider_reference)

    settle(fake, api_client_for(), online)

    online.refresh_from_db()
    assert (online.status, online.settles_fee, online.refund_reason) == (
        "overpaid", False, "fee_already_settled")
    assert (desk.status, desk.settles_fee) == ("paid", True)
    # The fee was settled in cash: the dossier is not one paid online.
    assert _paid_online() == 0


def test_a_desk_payment_after_the_fee_was_settled_is_refused(fake, dossier, applicant,
                                                               reception, api_client_for):
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    _pay_by_callback(fake, api_client_for(), payment)
    with pytest.raises(InvalidTransition):
        payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    assert Payment.objects.count() == 1


def test_starting_a_payment_once_the_fee_is_settled_opens_nothing(
    fake, applicant, reception, api_client_for
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    pending = payment_start(dossier_id=dossier.pk, actor=applicant)
    desk = payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")

    again = payment_start(dossier_id=dossier.pk, actor=applicant)

    assert again.pk == desk.pk != pending.pk
    assert [c.operation for c in fake.calls] == ["create_transaction"]


def _refund(payment: Payment) -> None:
    # Refunds are made by the finance office outside the portal; its record is the status.
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REFUNDED)


@pytest.mark.parametrize("word", ["callback", "confirmation", "failed_callback"])
def test_a_refunded_payment_stays_refunded_whatever_word_arrives_later(
    fake, dossier, applicant, api_client_for, word
):
    client = api_client_for()
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    _pay_by_callback(fake, client, payment)
    _refund(payment)

    if word == "confirmation":
        _settle_by_confirmation(fake, client, payment)
    else:
        fake.complete(payment.provider_reference,
                      status="failed" if word == "failed_callback" else "paid")
        response = post_callback(client, fake.signed_callback(payment.provider_reference))
        assert response.json()["changed"] is False

    payment.refresh_from_db()
    assert (payment.status, payment.settles_fee) == ("refunded", True)
    dossier.refresh_from_db()
    assert not dossier.fee_paid


def test_an_overpayment_stays_to_refund_whatever_word_arrives_later(
    fake, dossier, applicant, api_client_for
):
    client = api_client_for()
    first, _second = _failed_then_paid_again(fake, dossier, applicant, client)
    _pay_by_callback(fake, client, first)
    overpaid = _row(first)

    _settle_by_confirmation(fake, client, first)
    assert _pay_by_callback(fake, client, first, status="failed")["changed"] is False

    assert _row(first) == overpaid


def test_a_payment_of_a_dossier_whose_fee_was_refunded_is_an_overpayment(
    fake, applicant, reception, api_client_for
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    online = payment_start(dossier_id=dossier.pk, actor=applicant)
    desk = payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    _refund(desk)

    _pay_by_callback(fake, api_client_for(), online)

    online.refresh_from_db()
    assert (online.status, online.settles_fee) == ("overpaid", False)
    assert _paid_online() == 0


def test_the_database_holds_at_most_one_payment_settling_a_dossiers_fee(
    fake, applicant, reception
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    row = {"dossier": dossier, "amount": 500_000, "mode": "after", "channel": "transfer",
           "paid_at": clock.now()}

    for fields in ({"status": "paid", "settles_fee": True},
                   {"status": "refunded", "settles_fee": True},
                   {"status": "paid", "settles_fee": False},
                   {"status": "overpaid", "settles_fee": True}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Payment.objects.create(**row, **fields)
    Payment.objects.create(**row, status="overpaid", refund_reason="fee_already_settled")
    assert dossier.payments.filter(settles_fee=True).count() == 1


def test_reception_sees_the_overpayment_to_refund_on_the_dossier(
    fake, applicant, reception, api_client_for
):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    online = payment_start(dossier_id=dossier.pk, actor=applicant)
    desk = payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
    _pay_by_callback(fake, api_client_for(), online)
    online.refresh_from_db()

    response = api_client_for(reception).get(reverse("api:dossiers:detail", args=[dossier.pk]))

    assert response.status_code == 200
    assert response.json()["payments"] == [
        {"id": online.pk, "amount": 500_000, "channel": "online", "status": "overpaid",
         "status_label": "Nộp thừa, chờ hoàn trả", "settles_fee": False,
         "refund_reason": "fee_already_settled",
         "refund_reason_label": "Hồ sơ đã nộp phí, lệ phí bằng khoản thanh toán khác",
         "provider_reference": "FAKE-000001",
         "paid_at": online.paid_at.astimezone().isoformat().replace("+00:00", "Z")},
        {"id": desk.pk, "amount": 500_000, "channel": "cash", "status": "paid",
         "status_label": "Đã thanh toán", "settles_fee": True, "refund_reason": "",
         "refund_reason_label": "", "provider_reference": "",
         "paid_at": desk.paid_at.astimezone().isoformat().replace("+00:00", "Z")},
    ]


def test_the_dossier_and_payment_models_do_not_import_each_other():
    import grimp

    graph = grimp.build_graph("dossiers")
    for importer, imported in (("dossiers.models.dossier", "dossiers.models.payments"),
                               ("dossiers.models.payments", "dossiers.models.dossier")):
        assert graph.find_shortest_chain(importer=importer, imported=imported) is None


def test_the_queue_reads_the_payments_of_a_whole_page_in_one_query(
    fake, reception, api_client_for
):
    procedure = ProcedureFactory(fee_before_result=True)
    client = api_client_for(reception)

    def queue_queries(more: int) -> int:
        for _ in range(more):
            dossier = DossierFactory(processing=True, procedure=procedure)
            payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="cash")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("api:dossiers:queue"))
        assert all(len(d["payments"]) == 1 for d in response.json()["results"])
        return len(queries)

    assert queue_queries(1) == queue_queries(4)


def test_an_online_fee_counts_once_however_often_and_in_whatever_order_it_is_told(
    fake, applicant, api_client_for
):
    dossier = DossierFactory(applicant=applicant, submitted=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    _pay_by_callback(fake, api_client_for(), payment)
    assert summary_count_paid_online(dossier=dossier) is False  # not received yet

    dossier.received_at = clock.now()
    Dossier.objects.filter(pk=dossier.pk).update(received_at=dossier.received_at,
                                                 due_at=dossier.received_at)

    assert [summary_count_paid_online(dossier=dossier) for _ in range(3)] == [
        True, False, False]
    assert _paid_online() == 1
    payment.refresh_from_db()
    assert payment.online_counted_at is not None


def test_a_fee_settled_at_the_desk_is_never_counted_as_paid_online(applicant, reception):
    dossier = DossierFactory(applicant=applicant, processing=True,
                             procedure=ProcedureFactory(fee_before_result=True))
    payment_record_at_counter(dossier_id=dossier.pk, actor=reception, channel="transfer")
    assert summary_count_paid_online(dossier=dossier) is False
    assert _paid_online() == 0

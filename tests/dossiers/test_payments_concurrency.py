"""Money arriving at once for one dossier: these run on PostgreSQL (see .ci/run)."""

from django.urls import reverse

import pytest
from rest_framework.test import APIClient

from dossiers import services
from dossiers.models import DailySummary, Payment
from dossiers.services.payments import payment_start
from integrations.payment_providers.fake import FakePaymentProvider
from integrations.registry import override_payment_provider
from tests.dossiers.factories import DossierFactory, ProcedureFactory
from tests.dossiers.test_concurrency import _race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLBACK = "api:dossiers:integrations:payment_callback"


@pytest.fixture
def fake():
    with override_payment_provider(FakePaymentProvider()) as provider:
        yield provider


def _callback(fake, payment: Payment):
    body = fake.signed_callback(payment.provider_reference)
    return lambda: APIClient().post(reverse(CALLBACK), data=body,
                                    content_type="application/json").json()


def _paid_online() -> int:
    return sum(DailySummary.objects.values_list("paid_online", flat=True))


def test_two_payments_paid_at_once_settle_the_fee_once_and_the_other_is_to_refund(fake):
    dossier = DossierFactory(processing=True, procedure=ProcedureFactory(fee_before_result=True))
    applicant = dossier.applicant
    first = payment_start(dossier_id=dossier.pk, actor=applicant)
    fake.complete(first.provider_reference, status="failed")
    _callback(fake, first)()
    second = payment_start(dossier_id=dossier.pk, actor=applicant)
    for payment in (first, second):
        fake.complete(payment.provider_reference)

    results = _race(_callback(fake, first), _callback(fake, second))

    assert sorted(r["status"] for r in results) == ["overpaid", "paid"], results
    assert dossier.payments.filter(settles_fee=True).count() == 1
    assert _paid_online() == 1


def test_an_acceptance_and_a_callback_at_once_count_the_online_fee_once(fake, reception):
    dossier = DossierFactory(submitted=True, procedure=ProcedureFactory(fee_before_result=True))
    payment = payment_start(dossier_id=dossier.pk, actor=dossier.applicant)
    fake.complete(payment.provider_reference)

    results = _race(
        lambda: services.dossier_accept(dossier_id=dossier.pk, actor=reception),
        _callback(fake, payment),
    )

    assert results[1]["status"] == "paid", results
    assert _paid_online() == 1

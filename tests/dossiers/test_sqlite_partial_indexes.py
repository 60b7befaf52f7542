"""A payment is found by its provider's reference through the unique index on it.

The index holds the payments with a reference (`REFERENCED`); a query that does not say so
cannot use it on SQLite, which then read every payment under the write lock at each callback."""

from django.db import transaction

import pytest

from dossiers.models import Payment
from dossiers.services import payments

from .factories import DossierFactory
from .sqlite_plans import sqlite_only, sqlite_plans

pytestmark = pytest.mark.django_db


@sqlite_only
def test_on_sqlite_a_callback_finds_its_payment_through_the_unique_index():
    def callback():
        with transaction.atomic():
            payments._locked_payment(provider="vnpay", reference="TX-1")

    plans = sqlite_plans(callback, table="dossiers_payment")
    assert plans
    assert "USING INDEX payment_provider_reference_unique" in plans[0], plans
    assert not any("SCAN dossiers_payment" in plan for plan in plans), plans


def test_the_payment_of_a_reference_is_found_and_an_empty_reference_finds_none(agency, applicant):
    dossier = DossierFactory(applicant=applicant, handling_agency=agency, submitted=True)
    common = {"dossier": dossier, "amount": 1000, "mode": Payment.Mode.BEFORE,
              "channel": Payment.Channel.ONLINE, "provider": "vnpay"}
    opened = Payment.objects.create(**common, provider_reference="TX-1", bill_code="B1",
                                    request_key="k1")
    Payment.objects.create(**common, provider_reference="", bill_code="B2", request_key="k2")
    assert payments._by_reference("vnpay", "TX-1").get() == opened
    assert not payments._by_reference("other", "TX-1").exists()
    assert not payments._by_reference("vnpay", "").exists()
    with transaction.atomic():
        assert payments._locked_payment(provider="vnpay", reference="TX-1") == opened
        assert payments._locked_payment(provider="vnpay", reference="") is None

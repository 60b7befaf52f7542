"""The migration that settles each dossier's fee once, run over payments recorded before it."""

from datetime import timedelta

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import pytest

from dossiers.models import DailySummary, Payment
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("dossiers", "0007_notifications")
AFTER = ("dossiers", "0008_payment_settled_once_overpaid")


def _migrate(target) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor


def test_payments_recorded_twice_before_the_migration_keep_one_fee_and_one_overpayment():
    procedure = ProcedureFactory(fee_before_result=True)
    received = DossierFactory(processing=True, procedure=procedure)
    refunded_first = DossierFactory(processing=True, procedure=procedure)
    now = clock.now()
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes("dossiers")
    try:
        old = _migrate(BEFORE).loader.project_state([BEFORE]).apps.get_model("dossiers", "Payment")
        row = {"amount": 500_000, "mode": "after", "provider": "fake"}
        # What the old code let happen: a second payment paid after the first one.
        old.objects.create(dossier_id=received.pk, channel="online", status="paid",
                           paid_at=now - timedelta(hours=2), provider_reference="A", **row)
        old.objects.create(dossier_id=received.pk, channel="cash", status="paid",
                           paid_at=now - timedelta(hours=1), **row)
        old.objects.create(dossier_id=refunded_first.pk, channel="online", status="refunded",
                           paid_at=now - timedelta(hours=2), provider_reference="B", **row)
        old.objects.create(dossier_id=refunded_first.pk, channel="online", status="paid",
                           paid_at=now - timedelta(hours=1), provider_reference="C", **row)
        _migrate(AFTER)
    finally:
        _migrate(leaves[0])

    rows = {p.provider_reference or p.channel: p for p in Payment.objects.all()}
    assert (rows["A"].status, rows["A"].settles_fee, rows["A"].refund_reason) == (
        "paid", True, "")
    assert rows["A"].online_counted_at is not None
    assert (rows["cash"].status, rows["cash"].settles_fee, rows["cash"].refund_reason) == (
        "overpaid", False, "fee_already_settled")
    # The fee still held settles it; the refunded one was money returned.
    assert (rows["B"].status, rows["B"].settles_fee) == ("refunded", False)
    assert (rows["C"].status, rows["C"].settles_fee) == ("paid", True)
    assert not DailySummary.objects.exists()

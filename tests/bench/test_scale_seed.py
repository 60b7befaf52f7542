"""The scale benchmark's bulk seeding: valid hash chains, unique codes, realistic spreads."""

import random

from django.db import connection
from django.utils import timezone

import pytest

from bench.scale import PATHS, seed
from dossiers.models import Agency, ClockInterval, DailySummary, Dossier, DossierTransition
from dossiers.services import audit_verify
from tests.dossiers.test_monthly_summary import monthly_from_daily, monthly_rows

pytestmark = [
    pytest.mark.django_db,
    # On PostgreSQL the seeder drops and rebuilds the big tables' indexes, which cannot run
    # inside the test's transaction; `make bench` runs that path on its own database.
    pytest.mark.skipif(connection.vendor != "sqlite", reason="seeds by COPY outside a test "
                       "transaction on PostgreSQL: run by `make bench`"),
]


def test_seeded_dossiers_have_intact_chains_and_unique_codes():
    now = timezone.localtime().replace(microsecond=0)
    ctx = seed(600, rnd=random.Random(3), now=now)
    assert Dossier.objects.count() == 600
    assert audit_verify() == []
    codes = list(Dossier.objects.exclude(code=None).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) > 500
    for code in codes[:50]:
        assert code.split("-")[0] in {a.code for a in Agency.objects.all()}
    # every dossier's log follows the path to its state
    for dossier in Dossier.objects.order_by("?")[:40]:
        names = list(dossier.transitions.values_list("name", flat=True))
        assert names == [step[0] for step in PATHS[dossier.state]]
    assert Dossier.objects.values("handling_agency").distinct().count() >= 10
    assert Dossier.objects.values("state").distinct().count() >= 8
    assert Dossier.objects.values("channel").distinct().count() == 5
    assert ClockInterval.objects.filter(ended_at=None).count() == Dossier.objects.filter(
        state__in=["awaiting_supplement", "suspended"]).count()
    received = sum(DailySummary.objects.values_list("received", flat=True))
    assert received == Dossier.objects.exclude(received_at=None).count()
    assert monthly_rows() == monthly_from_daily() and len(monthly_rows()) == ctx["monthly_rows"]
    assert DossierTransition.objects.count() > 600
    assert ctx["bulk_seconds"] > 0

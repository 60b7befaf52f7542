"""Row locks under real concurrency: these run on PostgreSQL (see .ci/run)."""

import threading

from django.db import connection

import pytest

from dossiers import services
from dossiers.exceptions import InvalidTransition, StaleVersion
from dossiers.models import DailyCounter, Dossier, DossierTransition
from portal.roles import Role
from tests.dossiers.factories import DossierFactory, ProcedureFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(*calls):
    """Run the calls in threads released at the same instant; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the losers' errors are what the test looks at
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_officers_accepting_at_once_one_wins_the_other_gets_a_conflict(agency):
    dossier = DossierFactory(submitted=True)
    first, second = (UserFactory(roles=[Role.RECEPTION], agency_code=agency.code)
                     for _ in range(2))
    results = _race(
        lambda: services.dossier_accept(dossier_id=dossier.pk, actor=first),
        lambda: services.dossier_accept(dossier_id=dossier.pk, actor=second),
    )
    won = [r for r in results if isinstance(r, Dossier)]
    lost = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(won) == 1 and len(lost) == 1, results
    assert DossierTransition.objects.filter(dossier=dossier, name="accept").count() == 1
    assert Dossier.objects.get(pk=dossier.pk).version == dossier.version + 1


def test_two_officers_with_the_same_version_one_wins_the_other_is_stale(agency):
    dossier = DossierFactory(processing=True)
    specialists = [UserFactory(roles=[Role.SPECIALIST], agency_code=agency.code)
                   for _ in range(2)]
    results = _race(*[
        (lambda s=s: services.dossier_claim(dossier_id=dossier.pk, actor=s,
                                            version=dossier.version))
        for s in specialists
    ])
    assert sum(isinstance(r, Dossier) for r in results) == 1, results
    assert sum(isinstance(r, StaleVersion) for r in results) == 1, results


def test_concurrent_submissions_never_share_a_code(pdf_file):
    procedure = ProcedureFactory()
    dossiers = []
    for _ in range(8):
        applicant = UserFactory(roles=[Role.APPLICANT])
        d = DossierFactory(procedure=procedure, applicant=applicant)
        services.document_upload(dossier_id=d.pk, actor=applicant, component_code="don_de_nghi",
                                 uploaded_file=pdf_file())
        dossiers.append(d)
    results = _race(*[
        (lambda d=d: services.dossier_submit(dossier_id=d.pk, actor=d.applicant))
        for d in dossiers
    ])
    assert all(isinstance(r, Dossier) for r in results), results
    codes = sorted(r.code for r in results)
    assert len(set(codes)) == 8
    assert [int(c.rsplit("-", 1)[1]) for c in codes] == list(range(1, 9))
    assert DailyCounter.objects.get().value == 8

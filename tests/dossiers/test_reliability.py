"""What holds when many people act at once and parts of the system fail: PostgreSQL only."""

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import connection, connections

import pytest

from dossiers import services
from dossiers.exceptions import InvalidTransition
from dossiers.models import DailyCounter, Dossier, DossierTransition
from dossiers.services.audit import audit_verify
from portal.roles import Role
from tests.dossiers.factories import DossierFactory, ProcedureFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_officers_accepting_one_dossier_at_once_one_wins_nineteen_get_409(agency):
    dossier = DossierFactory(submitted=True)
    officers = [UserFactory(roles=[Role.RECEPTION], agency_code=agency.code) for _ in range(20)]
    barrier = threading.Barrier(20)

    def accept(officer):
        try:
            barrier.wait()
            return services.dossier_accept(dossier_id=dossier.pk, actor=officer)
        except Exception as exc:  # the losers' errors are what the test looks at
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(accept, officers))
    won = [r for r in results if isinstance(r, Dossier)]
    lost = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(won) == 1 and len(lost) == 19, results
    assert {exc.http_status for exc in lost} == {409}
    assert DossierTransition.objects.filter(dossier=dossier, name="accept").count() == 1
    assert Dossier.objects.get(pk=dossier.pk).version == dossier.version + 1
    assert audit_verify(dossier_ids=[dossier.pk]) == []


def test_two_hundred_submissions_for_one_agency_on_one_day_get_two_hundred_codes(pdf_file):
    procedure = ProcedureFactory()
    dossiers = []
    for _ in range(200):
        applicant = UserFactory(roles=[Role.APPLICANT])
        d = DossierFactory(procedure=procedure, applicant=applicant)
        services.document_upload(dossier_id=d.pk, actor=applicant, component_code="don_de_nghi",
                                 uploaded_file=pdf_file())
        dossiers.append(d)
    waits: list[float] = []

    def submit(d):
        try:
            start = time.perf_counter()
            result = services.dossier_submit(dossier_id=d.pk, actor=d.applicant)
            waits.append(time.perf_counter() - start)
            return result
        except Exception as exc:
            return exc
        finally:
            connection.close()

    # Sixteen at a time: more than the cores, fewer than the server's connections.
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(submit, dossiers))
    assert all(isinstance(r, Dossier) for r in results), [r for r in results
                                                          if not isinstance(r, Dossier)][:3]
    codes = sorted(r.code for r in results)
    assert len(set(codes)) == 200
    assert sorted(int(c.rsplit("-", 1)[1]) for c in codes) == list(range(1, 201))
    assert DailyCounter.objects.get().value == 200
    assert Dossier.objects.filter(pk__in=[d.pk for d in dossiers],
                                  state=Dossier.State.SUBMITTED).count() == 200
    assert audit_verify(dossier_ids=[d.pk for d in dossiers]) == []
    # The daily counter row is the one lock every submission of the day takes: how long the
    # submissions took with sixteen of them queueing on it (reported, not asserted).
    print(f"\n200 submissions, 16 at once: median {statistics.median(waits) * 1000:.0f} ms, "
          f"max {max(waits) * 1000:.0f} ms")


def test_a_database_connection_dropped_by_the_server_is_opened_again(monkeypatch):
    """A worker keeps its connection between requests; when the server drops it (a restart,
    a failover), the next request checks it, finds it dead and opens another."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    # As in production (the tests' own settings close connections after each request).
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    request_started.send(sender=__name__)  # what the WSGI handler does at each request
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        request_finished.send(sender=__name__)
        connection.close()


def test_verify_audit_finds_every_chain_intact_after_all_of_it(agency):
    dossier = DossierFactory(submitted=True)
    officer = UserFactory(roles=[Role.RECEPTION], agency_code=agency.code)
    services.dossier_accept(dossier_id=dossier.pk, actor=officer)
    call_command("verify_audit")  # exits non-zero (SystemExit) on a broken chain

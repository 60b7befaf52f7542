"""What one submit over the API costs, and that the cheaper path answers and checks as before."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from dossiers.models import Dossier, DossierTransition, Notification, OutboundMessage
from dossiers.services import payments as payment_services
from integrations.payment_providers.fake import FakePaymentProvider
from integrations.registry import override_payment_provider
from tests.dossiers.factories import DossierFactory, ProcedureFactory

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT",
                       "ROLLBACK TO SAVEPOINT")


def url(name: str, *args) -> str:
    return reverse(f"api:dossiers:{name}", args=args)


def _statements(captured) -> tuple[list[str], list[str]]:
    """The data statements and the transaction-control ones among the captured queries."""
    data, control = [], []
    for query in captured:
        sql = query["sql"].strip()
        (control if sql.upper().startswith(TRANSACTION_CONTROL) else data).append(sql)
    return data, control


@pytest.fixture
def ready(applicant, pdf_file):
    from dossiers import services

    dossier = DossierFactory(applicant=applicant)
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    return dossier


@pytest.fixture
def session_client(applicant):
    client = Client()
    client.force_login(applicant)
    return client


def test_one_submit_over_the_api_runs_in_at_most_ten_queries(ready, session_client,
                                                            django_capture_on_commit_callbacks):
    # The session and user lookups are counted; the mail and the portal relay it queues run
    # after the commit (a Celery worker's work).
    with django_capture_on_commit_callbacks(execute=False) as queued, \
            CaptureQueriesContext(connection) as captured:
        response = session_client.post(url("submit", ready.pk), {},
                                       content_type="application/json")
    assert response.status_code == 200, response.content
    data, control = _statements(captured.captured_queries)
    assert len(data) <= 10, "\n".join(data)
    assert len(control) <= 2, control  # the one transaction (a savepoint inside the test's)
    assert len(queued) == 2  # the notification and the relay, after the commit
    dossier = Dossier.objects.get(pk=ready.pk)
    assert dossier.state == Dossier.State.SUBMITTED and dossier.code
    assert DossierTransition.objects.filter(dossier=dossier, name="submit").count() == 1
    assert Notification.objects.filter(dossier=dossier).count() == 1
    assert OutboundMessage.objects.filter(dossier=dossier).exists()


def test_the_submit_answer_is_the_dossier_as_stored(ready, session_client):
    submitted = session_client.post(url("submit", ready.pk), {},
                                    content_type="application/json")
    assert submitted.status_code == 200
    detail = session_client.get(url("detail", ready.pk)).json()
    body = submitted.json()
    assert body["state"] == "submitted" and body["code"]
    assert body == {key: detail[key] for key in body}


def test_an_applicant_submitting_anothers_draft_gets_a_404_and_nothing_changes(
        ready, other_applicant):
    before = Dossier.objects.get(pk=ready.pk).version
    client = Client()
    client.force_login(other_applicant)
    response = client.post(url("submit", ready.pk), {}, content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "dossier_not_found"
    dossier = Dossier.objects.get(pk=ready.pk)
    assert (dossier.state, dossier.code, dossier.version) == ("draft", None, before)
    assert not DossierTransition.objects.filter(dossier=dossier).exists()


def test_missing_papers_still_block_the_submit(applicant, session_client):
    dossier = DossierFactory(applicant=applicant)
    response = session_client.post(url("submit", dossier.pk), {},
                                   content_type="application/json")
    assert response.status_code in (400, 409, 422)
    assert response.json()["code"] == "missing_documents"
    assert response.json()["extra"]["components"] == ["don_de_nghi"]
    assert Dossier.objects.get(pk=dossier.pk).state == "draft"


def test_a_fee_due_at_submission_is_read_and_answered_with_its_payment(applicant, pdf_file,
                                                                      session_client):
    from dossiers import services

    dossier = DossierFactory(applicant=applicant,
                             procedure=ProcedureFactory(fee_at_submission=True))
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    fake = FakePaymentProvider()
    with override_payment_provider(fake):
        payment = payment_services.payment_start(dossier_id=dossier.pk, actor=applicant)
        refused = session_client.post(url("submit", dossier.pk), {},
                                      content_type="application/json")
        assert refused.status_code == 402
        assert refused.json()["code"] == "payment_required"
        fake.complete(payment.provider_reference)
        callback = fake.signed_callback(payment.provider_reference)
        answer = Client().post(reverse("api:dossiers:integrations:payment_callback"),
                               data=callback, content_type="application/json")
        assert answer.status_code == 200, answer.content
    submitted = session_client.post(url("submit", dossier.pk), {},
                                    content_type="application/json")
    assert submitted.status_code == 200, submitted.content
    assert [p["status"] for p in submitted.json()["payments"]] == ["paid"]


def test_a_payment_on_a_free_procedure_is_still_shown(ready, applicant, session_client):
    from dossiers.models import Payment

    Payment.objects.create(dossier=ready, amount=10_000, provider="fake",
                           mode=Payment.Mode.values[0], channel=Payment.Channel.values[0],
                           provider_reference="X-1", status=Payment.Status.PENDING)
    submitted = session_client.post(url("submit", ready.pk), {},
                                    content_type="application/json")
    assert submitted.status_code == 200
    assert [p["provider_reference"] for p in submitted.json()["payments"]] == ["X-1"]


def test_the_days_counter_is_taken_last_before_the_dossier_row_is_saved(
        ready, session_client, django_capture_on_commit_callbacks):
    # Concurrent submissions to the agency wait on the counter row until the commit: after it
    # only the dossier's own row and its outbox rows are written.
    with django_capture_on_commit_callbacks(execute=False), \
            CaptureQueriesContext(connection) as captured:
        response = session_client.post(url("submit", ready.pk), {},
                                       content_type="application/json")
    assert response.status_code == 200, response.content
    data, _ = _statements(captured.captured_queries)
    tables = ("dailycounter", "dossiertransition", "notification", "outboundmessage",
              "dossiers_dossier\" SET")
    writes = [next(t for t in tables if t in sql) for sql in data
              if sql.upper().startswith(("INSERT", "UPDATE"))]
    assert writes == ["dossiertransition", "notification", "dailycounter",
                      "dossiers_dossier\" SET", "outboundmessage"]
    dossier = Dossier.objects.get(pk=ready.pk)
    assert dossier.code == response.json()["code"]
    assert dossier.code.endswith("-0001")


def test_codes_follow_each_other_whatever_the_order_of_the_writes(applicant, pdf_file,
                                                                 session_client):
    from dossiers import services

    codes = []
    for _ in range(3):
        dossier = DossierFactory(applicant=applicant)
        services.document_upload(dossier_id=dossier.pk, actor=applicant,
                                 component_code="don_de_nghi", uploaded_file=pdf_file())
        codes.append(session_client.post(url("submit", dossier.pk), {},
                                          content_type="application/json").json()["code"])
    assert [code[-4:] for code in codes] == ["0001", "0002", "0003"]
    transitions = DossierTransition.objects.filter(name="submit")
    assert all(row.hash for row in transitions) and transitions.count() == 3


def test_a_refused_submit_takes_no_number_from_the_counter(applicant, session_client):
    from dossiers.models import DailyCounter

    dossier = DossierFactory(applicant=applicant)  # its paper is missing
    response = session_client.post(url("submit", dossier.pk), {},
                                   content_type="application/json")
    assert response.json()["code"] == "missing_documents"
    assert not DailyCounter.objects.exists()


def test_a_held_message_queues_no_relay_and_goes_with_the_periodic_relay_once_coded(
        applicant, pdf_file, session_client, settings, django_capture_on_commit_callbacks):
    from unittest import mock

    from dossiers import services
    from dossiers.services import sync
    from integrations.adapters.fake import FakePortalAdapter
    from integrations.registry import override_portal_adapter
    from portal import effects

    settings.SYNC_SYSTEMS = ["national"]
    procedure = ProcedureFactory(national_code="")
    dossier = DossierFactory(applicant=applicant, procedure=procedure)
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    queued = []
    with mock.patch.object(effects, "task_queue",
                           lambda name, *args: queued.append(name) or True), \
            django_capture_on_commit_callbacks(execute=True):
        response = session_client.post(url("submit", dossier.pk), {},
                                       content_type="application/json")
    assert response.status_code == 200, response.content
    assert queued == ["dossiers.tasks.deliver_notification"]  # no relay: nothing is due
    message = OutboundMessage.objects.get(dossier=dossier)
    assert message.status == "held"
    procedure.national_code = "1.009999"
    procedure.save(update_fields=["national_code"])
    fake = FakePortalAdapter("national")
    with override_portal_adapter("national", fake):
        first = sync.outbox_relay()  # the beat's run
        again = sync.outbox_relay()
    assert (first.sent, again.handled) == (1, 0)  # sent, and only once
    assert [c.argument.procedure_code for c in fake.calls] == ["1.009999"]
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_message_due_now_still_queues_the_relay_once(ready, session_client, settings,
                                                       django_capture_on_commit_callbacks):
    from unittest import mock

    from portal import effects

    settings.SYNC_SYSTEMS = ["national"]
    queued = []
    with mock.patch.object(effects, "task_queue",
                           lambda name, *args: queued.append(name) or True), \
            django_capture_on_commit_callbacks(execute=True):
        response = session_client.post(url("submit", ready.pk), {},
                                       content_type="application/json")
    assert response.status_code == 200
    assert sorted(queued) == ["dossiers.tasks.deliver_notification",
                              "dossiers.tasks.relay_outbox"]
    assert OutboundMessage.objects.get(dossier=ready).status == "pending"


def test_the_answer_serializer_reads_the_model_once_and_binds_fresh_fields(ready):
    from unittest import mock

    from rest_framework.serializers import ModelSerializer

    from dossiers.api.serializers import DossierOwnerSerializer

    DossierOwnerSerializer(ready).fields  # noqa: B018  # built (or already built) once
    with mock.patch.object(ModelSerializer, "build_field",
                           side_effect=AssertionError("the model's fields read again")):
        first, second = DossierOwnerSerializer(ready), DossierOwnerSerializer(ready)
        assert first.data == second.data
    assert first.fields["state"] is not second.fields["state"]
    assert first.fields["state"].parent is first and second.fields["state"].parent is second
    assert first.data["lookup_secret"] == ready.lookup_secret


def test_the_outbox_rows_of_a_change_go_in_as_rows_not_as_escaped_arrays(
    ready, session_client, settings, django_capture_on_commit_callbacks
):
    """A change owed to two portals inserts both messages in one statement, each payload sent
    as itself (VALUES), not escaped into an array literal; the rows read back whole."""
    settings.SYNC_SYSTEMS = ["national", "provincial"]
    with CaptureQueriesContext(connection) as queries, \
            django_capture_on_commit_callbacks(execute=False):
        response = session_client.post(url("submit", ready.pk), {},
                                       content_type="application/json")
    assert response.status_code == 200, response.content
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('INSERT INTO "dossiers_outboundmessage"')]
    assert len(inserts) == 1 and "UNNEST" not in inserts[0]
    messages = OutboundMessage.objects.filter(dossier=ready).order_by("system")
    assert [m.system for m in messages] == ["national", "provincial"]
    assert messages[0].payload == messages[1].payload
    assert messages[0].payload["code"] == Dossier.objects.get(pk=ready.pk).code

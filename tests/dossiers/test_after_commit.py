"""A service whose transaction committed reports success: its after-commit work (mail, the
outbox relay) never raises into the caller and never undoes the change.

These tests commit for real (`transactional_db`), so the hooks run where production runs them:
on the way out of the service's atomic block, not afterwards as
`django_capture_on_commit_callbacks` would run them.
"""

import socket
from datetime import timedelta

from django.urls import reverse

import pytest

from dossiers.models import Dossier, Notification, OutboundMessage, Result
from dossiers.services import dossier_flag_overdue, notifications_sweep
from portal import clock
from signatures.models import IssuedDocument
from signatures.services import signature_verify
from tests.dossiers.factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db(transaction=True)


def url(name: str, *args) -> str:
    return reverse(f"api:dossiers:{name}", args=args)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2


@pytest.fixture
def fresh_signer():
    from signatures.signers import reset_configured_signer

    reset_configured_signer()
    yield
    reset_configured_signer()


def post(client, name: str, dossier: Dossier, **body):
    return client.post(url(name, dossier.pk), body, format="json")


def test_every_transition_answers_success_with_the_mail_server_down_and_nothing_is_lost(
    mail_server_down, applicant, reception, specialist, leader, api_client_for, fresh_signer,
    settings,
):
    dossier = DossierFactory(submitted=True, applicant=applicant,
                             procedure=ProcedureFactory(agency__code="sct"))
    reception.agency_code = specialist.agency_code = leader.agency_code = "sct"
    for user in (reception, specialist, leader):
        user.save(update_fields=["agency_code"])
    as_reception = api_client_for(reception)
    as_specialist, as_leader = api_client_for(specialist), api_client_for(leader)

    moves = [
        (as_reception, "accept", {}),
        (as_specialist, "suspend", {"reason": "Chờ ý kiến sở ngành"}),
        (as_specialist, "resume", {}),
        (as_specialist, "propose", {}),
        (as_leader, "send_back", {"reason": "Bổ sung nhận xét"}),
        (as_specialist, "propose", {}),
        (as_leader, "approve", {}),
        (as_leader, "issue_result", {"number": "12/GP-SCT"}),
        (as_reception, "return_result", {}),
    ]
    for client, name, body in moves:
        response = post(client, name, dossier, **body)
        assert response.status_code == 200, (name, response.json())

    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.RETURNED
    result = Result.objects.get(dossier=dossier)
    assert result.signed and result.file
    with result.file.open("rb") as handle:
        content = handle.read()
    assert signature_verify(content=content, filename="kq.pdf").issued_by_us is True
    assert IssuedDocument.objects.filter(sha256=result.sha256).exists()

    # Every email the applicant is owed is kept, with why it did not go.
    pending = Notification.objects.filter(dossier=dossier)
    assert pending.count() == 5  # accept, suspend, resume, issue_result, return_result
    assert {n.status for n in pending} == {Notification.Status.PENDING}
    assert all(n.last_error.startswith("ConnectionRefusedError") for n in pending), [
        n.last_error for n in pending]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_sweep(now=clock.now() + timedelta(hours=1)) == 5
    assert set(pending.values_list("status", flat=True)) == {Notification.Status.SENT}


def test_a_refusal_with_the_mail_server_down_keeps_its_signed_notice(
    mail_server_down, applicant, leader, api_client_for, fresh_signer
):
    dossier = DossierFactory(pending_approval=True, applicant=applicant,
                             procedure=ProcedureFactory(agency__code=leader.agency_code))

    response = post(api_client_for(leader), "refuse", dossier, reason="Không đủ điều kiện")

    assert response.status_code == 200, response.json()
    result = Result.objects.get(dossier=dossier)
    assert (result.kind, result.signed) == (Result.Kind.REFUSAL, True)
    assert default_storage_has(result.file.name)
    assert IssuedDocument.objects.filter(sha256=result.sha256).exists()


def default_storage_has(name: str) -> bool:
    from django.core.files.storage import default_storage

    return default_storage.exists(name)


def test_a_withdrawal_with_the_mail_server_down_answers_success(
    mail_server_down, applicant, api_client_for
):
    dossier = DossierFactory(processing=True, applicant=applicant)

    response = post(api_client_for(applicant), "withdraw", dossier, reason="Không còn nhu cầu")

    assert response.status_code == 200, response.json()
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.WITHDRAWN


def test_an_idempotent_submit_with_the_mail_server_down_is_replayed(
    mail_server_down, applicant, api_client_for, pdf_file
):
    dossier = DossierFactory(applicant=applicant)
    client = api_client_for(applicant)
    uploaded = client.post(url("upload", dossier.pk),
                           {"component": "don_de_nghi", "file": pdf_file()}, format="multipart")
    assert uploaded.status_code == 201, uploaded.json()

    first = client.post(url("submit", dossier.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url("submit", dossier.pk), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 200, first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_the_overdue_sweep_with_the_mail_server_down_keeps_the_mail_to_send(
    mail_server_down, agency, manager, settings
):
    dossier = DossierFactory(overdue=True, procedure=ProcedureFactory(agency=agency))

    assert dossier_flag_overdue() == [dossier.pk]

    row = Notification.objects.get(dossier=dossier, kind=Notification.Kind.OVERDUE)
    assert (row.status, row.attempts) == (Notification.Status.PENDING, 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_sweep(now=clock.now() + timedelta(hours=1)) == 1
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT


@pytest.fixture
def broker_down(settings):
    """Scale mode with its Celery broker stopped: tasks are published, and publishing fails."""
    from portal.celery import app

    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url",
                                        "broker_connection_retry_on_startup")}
    def forget_pools() -> None:  # the app keeps the pools of the broker they were made for
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    forget_pools()
    yield
    app.pool.force_close_all()  # the stopped broker's pool only
    app.conf.update(saved)
    forget_pools()


def test_a_transition_with_the_broker_down_answers_success_and_the_sweeps_catch_up(
    broker_down, applicant, reception, api_client_for, settings
):
    dossier = DossierFactory(submitted=True, applicant=applicant,
                             procedure=ProcedureFactory(agency__code=reception.agency_code))

    response = post(api_client_for(reception), "accept", dossier)

    assert response.status_code == 200, response.json()
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.PROCESSING
    # Nothing was delivered, and nothing is lost: the rows wait for their sweeps.
    assert Notification.objects.get(dossier=dossier).status == Notification.Status.PENDING
    assert OutboundMessage.objects.filter(dossier=dossier).exists()
    assert notifications_sweep(now=clock.now() + timedelta(minutes=1)) == 1


def test_a_failing_hook_never_undoes_an_issued_result(
    applicant, leader, api_client_for, fresh_signer, monkeypatch
):
    """Whatever goes wrong after the commit, the signed file and its registration stay."""
    from dossiers import tasks

    dossier = DossierFactory(approved=True, applicant=applicant,
                             procedure=ProcedureFactory(agency__code=leader.agency_code))

    def broken(*args, **kwargs):
        raise RuntimeError("the queue is broken")

    for task in (tasks.deliver_notification, tasks.relay_outbox):
        monkeypatch.setattr(task, "apply_async", broken)
    response = post(api_client_for(leader), "issue_result", dossier)

    assert response.status_code == 200, response.json()
    result = Result.objects.get(dossier=dossier)
    assert result.signed and default_storage_has(result.file.name)
    assert IssuedDocument.objects.filter(sha256=result.sha256).exists()


def test_a_dossier_from_a_portal_is_filed_with_the_mail_server_down_and_a_repeat_replays(
    mail_server_down, agency, api_client_for, settings
):
    from integrations.simulator import sample_inbound_dossier
    from tests.dossiers.test_inbound import SECRET, send

    settings.INBOUND_HMAC_SECRET = SECRET
    ProcedureFactory(national_code="2.000004", agency=agency)
    payload = sample_inbound_dossier(code="G22.NAT0000009")

    first = send(api_client_for(), payload, key="inbound-1")
    again = send(api_client_for(), payload, key="inbound-1")

    assert first.status_code == again.status_code == 201, first.json()
    assert again.json() == first.json()
    dossier = Dossier.objects.get(external_code="G22.NAT0000009")
    assert Notification.objects.get(dossier=dossier).status == Notification.Status.PENDING

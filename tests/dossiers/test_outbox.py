"""The outbox: messages written with the change, claimed in order per dossier, re-driven."""

from datetime import datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from dossiers import services
from dossiers.models import OutboundMessage
from dossiers.services import sync
from dossiers.sla import VN_TZ
from portal import clock
from tests.dossiers.factories import DossierFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def test_accepting_writes_one_push_per_portal_with_the_snapshot(applicant, reception, settings):
    settings.SYNC_SYSTEMS = ["national", "provincial"]
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(vn(2025, 3, 3, 8)):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    rows = list(OutboundMessage.objects.order_by("system"))
    assert [(m.system, m.kind, m.status) for m in rows] == [
        ("national", "push_dossier", "pending"), ("provincial", "push_dossier", "pending"),
    ]
    payload = rows[0].payload
    assert (payload["code"], payload["state"], payload["transition"]) == (
        dossier.code, "processing", "accept")
    assert payload["due_at"] == vn(2025, 3, 10, 8).isoformat()
    assert payload["procedure_code"] == dossier.procedure.national_code
    assert payload["applicant"]["tax_code"] == applicant.tax_code
    assert rows[0].idempotency_key != rows[1].idempotency_key


def test_moves_before_reception_are_not_synced(applicant, reception, settings):
    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant, submitted=True)
    services.dossier_return_for_completion(dossier_id=dossier.pk, actor=reception,
                                           reason="Thiếu chữ ký")
    services.dossier_withdraw(dossier_id=dossier.pk, actor=applicant, reason="Thôi")
    assert not OutboundMessage.objects.exists()


def test_refusal_at_reception_is_pushed_as_a_dossier(applicant, reception, settings):
    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant, submitted=True)
    services.dossier_refuse_at_reception(dossier_id=dossier.pk, actor=reception, reason="Sai")
    assert OutboundMessage.objects.get().kind == "push_dossier"


def test_every_later_move_is_a_progress_update(applicant, specialist, settings):
    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant, processing=True)
    services.dossier_suspend(dossier_id=dossier.pk, actor=specialist, reason="Chờ")
    services.dossier_resume(dossier_id=dossier.pk, actor=specialist)
    rows = list(OutboundMessage.objects.values_list("kind", "payload__state"))
    assert rows == [("push_progress", "suspended"), ("push_progress", "processing")]


def test_the_outbox_adds_at_most_one_query_to_a_state_change(applicant, specialist, settings):
    def count() -> int:
        dossier = DossierFactory(applicant=applicant, processing=True)
        actor = type(specialist).objects.get(pk=specialist.pk)  # no cached roles
        with CaptureQueriesContext(connection) as ctx:
            services.dossier_propose(dossier_id=dossier.pk, actor=actor)
        return len(ctx.captured_queries)

    settings.SYNC_SYSTEMS = []
    without = count()
    settings.SYNC_SYSTEMS = ["national", "provincial"]
    with_outbox = count()
    assert with_outbox - without == 1


def _message(dossier, n: int, **fields) -> OutboundMessage:
    now = clock.now()
    defaults = {"system": "national", "kind": "push_progress", "payload": {"n": n},
                "idempotency_key": f"k-{dossier.pk}-{n}", "next_attempt_at": now,
                "created_at": now}
    return OutboundMessage.objects.create(dossier=dossier, **{**defaults, **fields})


def test_a_claim_takes_only_the_oldest_unsent_message_of_each_dossier(db):
    a, b = DossierFactory(processing=True), DossierFactory(processing=True)
    a1, a2, b1 = _message(a, 1), _message(a, 2), _message(b, 1)
    claimed = sync.outbox_claim(limit=10)
    assert sorted(claimed) == sorted([a1.pk, b1.pk])
    assert OutboundMessage.objects.get(pk=a2.pk).status == "pending"
    assert sync.outbox_claim(limit=10) == []  # a1 is in flight: a2 keeps waiting


def test_a_dead_message_holds_back_the_later_ones_of_its_dossier(db):
    dossier = DossierFactory(processing=True)
    _message(dossier, 1, status="dead")
    later = _message(dossier, 2)
    assert sync.outbox_claim(limit=10) == []
    assert sync.outbox_redrive() == 1
    claimed = sync.outbox_claim(limit=10)
    assert later.pk not in claimed and len(claimed) == 1


def test_a_lease_left_by_a_dead_relay_runs_out_and_the_message_is_claimed_again(db):
    dossier = DossierFactory(processing=True)
    message = _message(dossier, 1)
    assert sync.outbox_claim(limit=10) == [message.pk]
    assert sync.outbox_claim(limit=10) == []
    later = clock.now() + timedelta(hours=1)
    assert sync.outbox_claim(limit=10, now=later) == [message.pk]


def test_failures_back_off_and_end_dead(db, monkeypatch, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: (_ for _ in ()).throw(OSError("down")))
    monkeypatch.setattr(sync, "_is_rejection", lambda exc: False)
    dossier = DossierFactory(processing=True)
    message = _message(dossier, 1)
    statuses = []
    for hour in range(1, 4):
        [claimed] = sync.outbox_claim(limit=1, now=clock.now() + timedelta(hours=hour))
        statuses.append(sync.outbox_deliver(message_id=claimed).status)
    message.refresh_from_db()
    assert statuses == ["failed", "failed", "dead"]
    assert (message.attempts, message.last_error) == (3, "OSError: down")


def test_delivered_messages_are_marked_sent_with_the_remote_reference(db, monkeypatch):
    sent = []
    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: sent.append(message.pk) or "REF-1")
    dossier = DossierFactory(processing=True)
    first, second = _message(dossier, 1), _message(dossier, 2)
    report = sync.outbox_relay()
    assert (report.sent, sent) == (2, [first.pk, second.pk])
    first.refresh_from_db()
    assert (first.status, first.external_reference, first.attempts) == ("sent", "REF-1", 1)


@pytest.mark.parametrize("status", ["sent", "pending"])
def test_delivering_a_message_that_is_not_leased_does_nothing(db, monkeypatch, status):
    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: pytest.fail("must not send"))
    message = _message(DossierFactory(processing=True), 1, status=status,
                       sent_at=clock.now() if status == "sent" else None)
    assert sync.outbox_deliver(message_id=message.pk).status == status


def _fake_portals(*systems):
    from contextlib import ExitStack

    from integrations.adapters.fake import FakePortalAdapter
    from integrations.registry import override_portal_adapter

    stack = ExitStack()
    fakes = {s: stack.enter_context(override_portal_adapter(s, FakePortalAdapter(s)))
             for s in systems}
    return stack, fakes


def test_a_system_failing_in_a_round_is_not_tried_again_and_the_rest_go_back_unattempted(
    applicant, reception, settings
):
    from integrations.exceptions import PortalUnavailable

    settings.SYNC_SYSTEMS = ["national", "provincial"]
    for dossier in DossierFactory.create_batch(3, applicant=applicant, submitted=True):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    stack, fakes = _fake_portals("national", "provincial")
    with stack:
        fakes["national"].fail_next(PortalUnavailable())
        report = sync.outbox_relay(max_rounds=1)
        national_calls = len(fakes["national"].calls)
    rows = OutboundMessage.objects.filter(system="national")
    assert (report.sent, report.failed) == (3, 1)  # provincial all sent, national once failed
    assert national_calls == 1
    assert sorted(rows.values_list("status", "attempts")) == [
        ("failed", 1), ("pending", 0), ("pending", 0)]
    assert set(OutboundMessage.objects.filter(system="provincial").values_list("status", flat=True)
               ) == {"sent"}


def test_no_send_starts_once_the_lease_could_run_out_before_it_ends(
    applicant, reception, settings
):
    settings.SYNC_SYSTEMS = ["national"]
    for dossier in DossierFactory.create_batch(3, applicant=applicant, submitted=True):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    settings.OUTBOX_LEASE_SECONDS = 5  # shorter than one send may take (3.05 + 10 s)
    stack, fakes = _fake_portals("national")
    with stack:
        report = sync.outbox_relay(max_rounds=1)
    assert report.sent == 1 and len(fakes["national"].calls) == 1
    assert sorted(OutboundMessage.objects.values_list("status", "lease_until")) == [
        ("pending", None), ("pending", None), ("sent", None)]


def test_the_relay_reads_documents_once_per_round_not_once_per_message(
    applicant, reception, settings, pdf_file
):
    from django.db import connection as conn

    settings.SYNC_SYSTEMS = ["national"]
    dossiers = DossierFactory.create_batch(10, applicant=applicant, submitted=True)
    for dossier in dossiers:
        services.document_upload(dossier_id=dossier.pk, actor=reception,
                                 component_code="don_de_nghi", uploaded_file=pdf_file())
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(conn) as ctx:
            assert sync.outbox_relay(batch=limit, max_rounds=1).sent == limit
        return len(ctx.captured_queries)

    stack, fakes = _fake_portals("national")
    with stack:
        two, eight = queries(2), queries(8)
        [first] = fakes["national"].calls[:1]
    assert eight - two == 6  # one UPDATE per message recorded, nothing else grows
    assert [d.component_code for d in first.argument.documents] == ["don_de_nghi"]

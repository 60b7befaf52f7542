"""The outbox: messages written with the change, claimed in order per dossier, re-driven."""

from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import OutboundMessage
from dossiers.services import sync
from dossiers.services.outbox_alerts import outbox_alerts
from dossiers.sla import VN_TZ
from integrations.exceptions import (
    BadResponse,
    MappingMissing,
    PortalAuthFailed,
    PortalRejected,
    TokenExpired,
)
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory


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


def test_every_move_from_submission_on_is_pushed_with_its_time_and_reason(
    applicant, reception, settings, pdf_file
):
    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant)
    services.document_upload(dossier_id=dossier.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    with clock.frozen_at(vn(2025, 3, 3, 8)):
        services.dossier_submit(dossier_id=dossier.pk, actor=applicant)
    with clock.frozen_at(vn(2025, 3, 3, 9)):
        services.dossier_return_for_completion(dossier_id=dossier.pk, actor=reception,
                                               reason="Thiếu chữ ký")
    with clock.frozen_at(vn(2025, 3, 3, 10)):
        services.dossier_resubmit(dossier_id=dossier.pk, actor=applicant)
    with clock.frozen_at(vn(2025, 3, 3, 11)):
        services.dossier_withdraw(dossier_id=dossier.pk, actor=applicant, reason="Thôi")

    dossier.refresh_from_db()
    rows = list(OutboundMessage.objects.order_by("id").values_list(
        "kind", "status", "payload__transition", "payload__at", "payload__reason", "payload__code"))
    # Not received yet: each change sends the whole dossier, under the code given at submission.
    assert rows == [
        ("push_dossier", "pending", "submit", vn(2025, 3, 3, 8).isoformat(), "", dossier.code),
        ("push_dossier", "pending", "return_for_completion", vn(2025, 3, 3, 9).isoformat(),
         "Thiếu chữ ký", dossier.code),
        ("push_dossier", "pending", "resubmit", vn(2025, 3, 3, 10).isoformat(), "", dossier.code),
        ("push_dossier", "pending", "withdraw", vn(2025, 3, 3, 11).isoformat(), "Thôi",
         dossier.code),
    ]


def test_a_draft_owes_the_portals_nothing(applicant, settings):
    from dossiers.models import DossierTransition

    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant)
    row = DossierTransition(dossier=dossier, name="submit", from_state="draft",
                            to_state="submitted", at=clock.now())
    assert sync.outbox_messages_for(dossier=dossier, row=row) == []  # no code to send it under


def test_refusal_at_reception_is_pushed_as_a_dossier_with_its_time(applicant, reception, settings):
    settings.SYNC_SYSTEMS = ["national"]
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(vn(2025, 3, 4, 14)):
        services.dossier_refuse_at_reception(dossier_id=dossier.pk, actor=reception, reason="Sai")
    message = OutboundMessage.objects.get()
    assert message.kind == "push_dossier"
    assert (message.payload["at"], message.payload["reason"]) == (
        vn(2025, 3, 4, 14).isoformat(), "Sai")


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
    assert (message.attempts, message.last_error) == (3, "down [OSError]")


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


def test_a_system_failing_is_tried_once_per_run_however_many_rounds_the_others_need(
    applicant, reception, specialist, settings
):
    """A refused login must not be repeated round after round (an account locks after a few)."""
    from integrations.exceptions import PortalAuthFailed

    settings.SYNC_SYSTEMS = ["national", "provincial"]
    for dossier in DossierFactory.create_batch(3, applicant=applicant, submitted=True):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
        services.dossier_suspend(dossier_id=dossier.pk, actor=specialist, reason="Chờ ý kiến")
        services.dossier_resume(dossier_id=dossier.pk, actor=specialist)
    stack, fakes = _fake_portals("national", "provincial")
    with stack:
        fakes["national"].fail_next(*[PortalAuthFailed(status=401)] * 20)
        report = sync.outbox_relay()
        left = len(fakes["national"]._failures)

    assert report.sent == 9  # every provincial message, over three rounds
    assert 20 - left == 1  # one refused attempt in the whole run
    assert sorted(OutboundMessage.objects.filter(system="national")
                  .values_list("attempts", flat=True)) == [0] * 8 + [1]


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


# --- held messages: a procedure without a national code ---------------------------------


def test_a_procedure_without_a_national_code_holds_its_messages_until_the_code_is_set(
    applicant, reception, settings
):
    settings.SYNC_SYSTEMS = ["national"]
    procedure = ProcedureFactory(national_code="", name="Cấp phép thử")
    dossier = DossierFactory(applicant=applicant, submitted=True, procedure=procedure)
    services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    message = OutboundMessage.objects.get()
    assert (message.status, message.attention, message.payload["procedure_code"]) == (
        "held", "procedure_code", "")
    assert message.last_error == (
        "Thủ tục “Cấp phép thử” chưa có mã TTHC quốc gia: thông điệp được giữ lại, sẽ tự gửi khi "
        "quản trị viên nhập mã cho thủ tục.")
    stack, fakes = _fake_portals("national")
    with stack:
        idle = sync.outbox_relay()
        procedure.national_code = "1.009999"
        procedure.save(update_fields=["national_code"])
        report = sync.outbox_relay()
        calls = fakes["national"].calls
    assert idle.handled == 0 and report.sent == 1
    assert [c.argument.procedure_code for c in calls] == ["1.009999"]
    message.refresh_from_db()
    assert (message.status, message.attention, message.last_error) == ("sent", "", "")


def test_a_later_change_waits_behind_a_held_message_of_its_dossier(
    applicant, reception, specialist, settings
):
    settings.SYNC_SYSTEMS = ["national"]
    procedure = ProcedureFactory(national_code="")
    dossier = DossierFactory(applicant=applicant, submitted=True, procedure=procedure)
    services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    procedure.national_code = "1.009998"
    procedure.save(update_fields=["national_code"])
    services.dossier_suspend(dossier_id=dossier.pk, actor=specialist, reason="Chờ")

    assert list(OutboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        "held", "pending"]
    assert sync.outbox_claim(limit=10) == []  # in order: the held push goes first


# --- failures an administrator must fix ---------------------------------------------------


@pytest.mark.parametrize("error, attention", [
    (PortalAuthFailed(status=401), "credentials"),
    (PortalAuthFailed(status=403), "credentials"),
    (TokenExpired(), "credentials"),
    (BadResponse(extra={"status": 200}), "unreadable"),
    (MappingMissing(), "configuration"),
    (ImproperlyConfigured("NATIONAL_PORTAL_PASSWORD is not set"), "configuration"),
])
def test_failures_an_administrator_must_fix_are_retried_flagged_and_never_dead(
    db, monkeypatch, settings, caplog, error, attention
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: (_ for _ in ()).throw(error))
    message = _message(DossierFactory(processing=True), 1)
    statuses = []
    for hour in range(1, 6):
        [claimed] = sync.outbox_claim(limit=1, now=clock.now() + timedelta(hours=hour))
        statuses.append(sync.outbox_deliver(message_id=claimed).status)

    message.refresh_from_db()
    assert statuses == ["failed"] * 5
    assert (message.attempts, message.attention) == (5, attention)
    assert message.next_attempt_at > message.last_attempt_at
    assert [r.levelname for r in caplog.records if r.name == "dossiers.services.sync"] == [
        "ERROR"] * 5

    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: "REF-9")
    [claimed] = sync.outbox_claim(limit=1, now=clock.now() + timedelta(hours=9))
    sent = sync.outbox_deliver(message_id=claimed)
    assert (sent.status, sent.attention, sent.last_error) == ("sent", "", "")


def test_a_refusal_of_the_message_itself_is_dead_at_once(db, monkeypatch):
    refusal = PortalRejected("Hồ sơ chưa được đồng bộ.", status=404,
                             extra={"code": "dossier_unknown"})
    monkeypatch.setattr(sync, "_send", lambda message, attachments=None: (_ for _ in ()).throw(refusal))
    _message(DossierFactory(processing=True), 1)
    [claimed] = sync.outbox_claim(limit=1)
    dead = sync.outbox_deliver(message_id=claimed)
    assert (dead.status, dead.attempts, dead.attention) == ("dead", 1, "")


def test_send_again_now_restarts_dead_hurries_failed_and_releases_held_with_a_code(db):
    later = clock.now() + timedelta(hours=1)
    dead = _message(DossierFactory(processing=True), 1, status="dead", attempts=8)
    failed = _message(DossierFactory(processing=True), 1, status="failed", attempts=3,
                      next_attempt_at=later)
    uncoded, coded = ProcedureFactory(national_code=""), ProcedureFactory(national_code="")
    held = [_message(DossierFactory(processing=True, procedure=p), 1, status="held",
                     payload={"procedure_code": ""}) for p in (uncoded, coded)]
    coded.national_code = "1.000777"
    coded.save(update_fields=["national_code"])

    count = sync.outbox_redrive(message_ids=[dead.pk, failed.pk, *(m.pk for m in held)])

    rows = {m.pk: m for m in OutboundMessage.objects.all()}
    assert count == 3
    assert (rows[dead.pk].status, rows[dead.pk].attempts) == ("pending", 0)
    assert (rows[failed.pk].status, rows[failed.pk].attempts) == ("failed", 3)
    assert rows[failed.pk].next_attempt_at <= clock.now()
    assert rows[held[0].pk].status == "held"
    assert (rows[held[1].pk].status, rows[held[1].pk].payload["procedure_code"]) == (
        "pending", "1.000777")


# --- what the administrators see -----------------------------------------------------------


def test_a_portal_whose_latest_attempt_failed_on_our_side_is_an_alert_until_a_send_succeeds(db):
    dossier = DossierFactory(processing=True)
    at = clock.now()
    _message(dossier, 1, status="failed", attention="credentials", last_attempt_at=at,
             last_error="PortalAuthFailed: Hệ thống bên ngoài từ chối thông tin đăng nhập.")

    [alert] = outbox_alerts()
    assert alert.text.startswith(
        "Cổng Dịch vụ công quốc gia: Cổng từ chối thông tin đăng nhập (lần gửi gần nhất ")
    assert "PortalAuthFailed" in alert.text and "Gửi lại ngay" in alert.text

    _message(dossier, 2, status="sent", sent_at=at, last_attempt_at=at + timedelta(seconds=1))
    assert outbox_alerts() == []


def test_held_messages_are_an_alert_per_procedure(db):
    procedure = ProcedureFactory(national_code="", name="Cấp phép thử")
    for dossier in DossierFactory.create_batch(2, processing=True, procedure=procedure):
        _message(dossier, 1, status="held", attention="procedure_code")

    assert [a.text for a in outbox_alerts()] == [
        "Thủ tục chưa có mã TTHC quốc gia: 2 thông điệp của thủ tục “Cấp phép thử” đang bị giữ "
        "lại; nhập mã TTHC quốc gia cho thủ tục để chúng tự gửi."]


def test_the_outbox_admin_shows_the_alerts_filters_them_and_sends_again(admin_client, db):
    dossier = DossierFactory(processing=True)
    flagged = _message(dossier, 1, status="failed", attention="credentials",
                       last_attempt_at=clock.now(), next_attempt_at=clock.now() + timedelta(hours=1),
                       last_error="PortalAuthFailed: Hệ thống bên ngoài từ chối thông tin đăng nhập.")
    other = _message(DossierFactory(processing=True), 1, status="dead")
    url = reverse("admin:dossiers_outboundmessage_changelist")

    page = admin_client.get(url)
    filtered = admin_client.get(url, {"attention__exact": "credentials"})
    action = admin_client.post(url, {"action": "redrive", "_selected_action": [flagged.pk]},
                               follow=True)

    alerts = [str(m) for m in page.context["messages"]]
    assert len(alerts) == 1 and "từ chối thông tin đăng nhập" in alerts[0]
    assert [row.pk for row in filtered.context["cl"].result_list] == [flagged.pk]
    assert "1 thông điệp được đưa lại vào hàng đợi." in [
        str(m) for m in action.context["messages"]]
    flagged.refresh_from_db()
    other.refresh_from_db()
    assert flagged.next_attempt_at <= clock.now() and other.status == "dead"

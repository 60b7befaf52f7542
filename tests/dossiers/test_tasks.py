"""Celery shims: the overdue sweep and its emails, the applicant's transition emails."""

from datetime import datetime, timedelta

from django.utils import timezone

import pytest

from dossiers.models import Dossier, Notification
from dossiers.services import (
    dossier_accept,
    dossier_flag_overdue,
    dossier_propose,
    dossier_refuse_at_reception,
)
from dossiers.sla import VN_TZ
from dossiers.tasks import deliver_notification, sweep_notifications, sweep_overdue
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def other_agency(db):
    return AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")


@pytest.fixture(autouse=True)
def no_fallback_recipients(settings):
    settings.OVERDUE_NOTIFY_FALLBACK = []


@pytest.fixture
def sweep_at():
    return timezone.now().replace(microsecond=0)


# --- the overdue sweep ---------------------------------------------------------------


def test_flag_overdue_flags_each_overdue_dossier_once(
    procedure, specialist, other_agency, frozen, sweep_at, django_capture_on_commit_callbacks
):
    first = DossierFactory(overdue=True, procedure=procedure, assignee=specialist)
    second = DossierFactory(overdue=True, procedure=procedure)
    elsewhere = DossierFactory(overdue=True, procedure=ProcedureFactory(agency=other_agency))
    on_time = DossierFactory(processing=True, procedure=procedure)
    completed = DossierFactory(
        result_ready=True, procedure=procedure, due_at=sweep_at - timedelta(days=2)
    )

    with frozen(sweep_at), django_capture_on_commit_callbacks(execute=True):
        flagged = dossier_flag_overdue()
    with frozen(sweep_at + timedelta(hours=1)), django_capture_on_commit_callbacks(
        execute=True
    ) as again:
        flagged_again = dossier_flag_overdue()

    assert sorted(flagged) == sorted([first.pk, second.pk, elsewhere.pk])
    assert flagged_again == []
    assert again == []
    notified = dict(Dossier.objects.values_list("pk", "overdue_notified_at"))
    assert notified == {
        first.pk: sweep_at, second.pk: sweep_at, elsewhere.pk: sweep_at,
        on_time.pk: None, completed.pk: None,
    }


def test_flag_overdue_emails_the_assignee_and_the_agencys_managers_after_commit(
    procedure, specialist, manager, agency, other_agency, frozen, sweep_at, mailoutbox,
    django_capture_on_commit_callbacks,
):
    dossier = DossierFactory(overdue=True, procedure=procedure, assignee=specialist)
    UserFactory(roles=[Role.MANAGER], agency_code=other_agency.code)
    UserFactory(roles=[Role.MANAGER], agency_code=agency.code, is_active=False)
    UserFactory(roles=[Role.MANAGER], agency_code=agency.code, email="")
    UserFactory(roles=[Role.LEADER], agency_code=agency.code)

    with frozen(sweep_at), django_capture_on_commit_callbacks() as callbacks:
        assert dossier_flag_overdue() == [dossier.pk]
        assert mailoutbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == sorted([specialist.email, manager.email])
    assert mail.subject == f"[Một Cửa] Hồ sơ {dossier.code} đã quá hạn"
    assert dossier.procedure.name in mail.body
    assert timezone.localtime(dossier.due_at).strftime("%H:%M %d/%m/%Y") in mail.body


def test_overdue_mail_of_an_unassigned_dossier_goes_to_the_managers(
    procedure, manager, frozen, sweep_at, mailoutbox, django_capture_on_commit_callbacks
):
    DossierFactory(overdue=True, procedure=procedure)

    with frozen(sweep_at), django_capture_on_commit_callbacks(execute=True):
        dossier_flag_overdue()

    assert [m.to for m in mailoutbox] == [[manager.email]]


def test_overdue_mail_with_nobody_to_tell_is_not_sent(
    procedure, frozen, sweep_at, mailoutbox, django_capture_on_commit_callbacks
):
    dossier = DossierFactory(overdue=True, procedure=procedure)

    with frozen(sweep_at), django_capture_on_commit_callbacks(execute=True):
        assert dossier_flag_overdue() == [dossier.pk]

    assert mailoutbox == []
    dossier.refresh_from_db()
    assert dossier.overdue_notified_at == sweep_at


def test_overdue_mail_also_goes_to_the_fallback_addresses(
    procedure, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.OVERDUE_NOTIFY_FALLBACK = ["giamsat@example.vn"]
    DossierFactory(overdue=True, procedure=procedure)

    with django_capture_on_commit_callbacks(execute=True):
        dossier_flag_overdue()

    assert [m.to for m in mailoutbox] == [["giamsat@example.vn"]]


def test_sweep_overdue_task_returns_how_many_it_flagged(
    procedure, specialist, mailoutbox, django_capture_on_commit_callbacks
):
    for _ in range(3):
        DossierFactory(overdue=True, procedure=procedure, assignee=specialist)
    DossierFactory(processing=True, procedure=procedure, assignee=specialist)

    with django_capture_on_commit_callbacks(execute=True):
        first = sweep_overdue.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = sweep_overdue.delay().get()

    assert (first, second) == (3, 0)
    assert len(mailoutbox) == 3
    assert Dossier.objects.filter(overdue_notified_at__isnull=False).count() == 3


@pytest.mark.parametrize(
    "state", [Dossier.State.AWAITING_SUPPLEMENT, Dossier.State.SUSPENDED]
)
def test_a_paused_dossier_is_not_overdue(
    procedure, specialist, state, mailoutbox, django_capture_on_commit_callbacks
):
    paused = DossierFactory(
        overdue=True, procedure=procedure, assignee=specialist, state=state,
        paused_at=timezone.now() - timedelta(days=3),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert dossier_flag_overdue() == []

    assert list(Dossier.objects.overdue()) == []
    assert mailoutbox == []
    paused.refresh_from_db()
    assert paused.overdue_notified_at is None


def test_a_dossier_becomes_overdue_only_after_its_due_time(
    procedure, frozen, django_capture_on_commit_callbacks
):
    due = vn(2025, 3, 10, 8, 0)
    dossier = DossierFactory(
        processing=True, procedure=procedure, due_at=due, due_soon_at=vn(2025, 3, 7, 13, 0)
    )

    with django_capture_on_commit_callbacks(execute=True):
        with frozen(due):
            at_due_time = dossier_flag_overdue()
        with frozen(due + timedelta(minutes=1)):
            after = dossier_flag_overdue()

    assert (at_due_time, after) == ([], [dossier.pk])


def test_delivering_an_unknown_notification_sends_nothing(db, mailoutbox):
    assert deliver_notification.delay(987_654).get() == ""

    assert mailoutbox == []


# --- the applicant's emails ----------------------------------------------------------


@pytest.fixture
def submitted(procedure, applicant):
    return DossierFactory(submitted=True, procedure=procedure, applicant=applicant)


def test_accepting_a_dossier_emails_the_applicant_the_appointment_after_commit(
    submitted, applicant, reception, frozen, mailoutbox, django_capture_on_commit_callbacks
):
    with frozen(vn(2025, 3, 3, 8, 0)), django_capture_on_commit_callbacks() as callbacks:
        dossier_accept(dossier_id=submitted.pk, actor=reception)
        assert mailoutbox == []
    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [applicant.email]
    assert mail.subject == f"[Một Cửa] Hồ sơ {submitted.code}: Đang xử lý"
    assert applicant.display_name in mail.body
    assert "Ngày hẹn trả kết quả: 08:00 10/03/2025" in mail.body
    assert f"/tra-cuu/?code={submitted.code}" in mail.body


REASON = "Không thuộc thẩm quyền của Sở."


def test_refusal_at_reception_emails_the_applicant_the_reason(
    submitted, applicant, reception, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier_refuse_at_reception(
            dossier_id=submitted.pk, actor=reception, reason=REASON
        )

    assert [m.to for m in mailoutbox] == [[applicant.email]]
    mail = mailoutbox[0]
    assert mail.subject == f"[Một Cửa] Hồ sơ {submitted.code}: Từ chối tiếp nhận"
    assert f"Lý do / nội dung: {REASON}" in mail.body
    assert "Ngày hẹn trả kết quả" not in mail.body


def test_internal_hand_overs_do_not_email_the_applicant(
    procedure, applicant, specialist, mailoutbox, django_capture_on_commit_callbacks
):
    dossier = DossierFactory(processing=True, procedure=procedure, applicant=applicant)

    with django_capture_on_commit_callbacks(execute=True):
        dossier_propose(dossier_id=dossier.pk, actor=specialist)

    # Only the portals hear of it (the outbox); the applicant gets no mail.
    assert dossier.outbox.count() > 0
    assert not Notification.objects.filter(dossier=dossier).exists()
    assert mailoutbox == []


def test_applicant_without_an_email_address_gets_no_mail(
    procedure, reception, mailoutbox, django_capture_on_commit_callbacks
):
    silent = UserFactory(roles=[Role.APPLICANT], email="")
    dossier = DossierFactory(submitted=True, procedure=procedure, applicant=silent)

    with django_capture_on_commit_callbacks(execute=True):
        dossier_accept(dossier_id=dossier.pk, actor=reception)

    assert mailoutbox == []


def test_a_mail_that_fails_is_recorded_and_sent_by_the_sweep_once_the_server_is_back(
    submitted, reception, monkeypatch, mailoutbox, frozen, django_capture_on_commit_callbacks
):
    from dossiers.services import notifications

    def mail_server_down(**kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(notifications, "send_mail", mail_server_down)
    accepted_at = vn(2025, 3, 3, 8, 0)
    with frozen(accepted_at), django_capture_on_commit_callbacks(execute=True):
        dossier_accept(dossier_id=submitted.pk, actor=reception)

    row = Notification.objects.get(dossier=submitted)
    assert (row.status, row.attempts) == (Notification.Status.PENDING, 1)
    assert row.last_error == "ConnectionRefusedError: mail server down"
    assert row.next_attempt_at == accepted_at + timedelta(minutes=2)
    with frozen(accepted_at + timedelta(minutes=1)):
        assert sweep_notifications.delay().get() == 0  # not due yet

    monkeypatch.undo()
    with frozen(accepted_at + timedelta(minutes=2)):
        assert sweep_notifications.delay().get() == 1
        assert sweep_notifications.delay().get() == 0  # sent once

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Notification.Status.SENT, 2)
    assert [m.subject for m in mailoutbox] == [f"[Một Cửa] Hồ sơ {submitted.code}: Đang xử lý"]


def test_a_mail_that_keeps_failing_backs_off_and_is_finally_given_up(
    submitted, reception, monkeypatch, frozen, django_capture_on_commit_callbacks
):
    from dossiers.services import notifications

    def mail_server_down(**kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(notifications, "send_mail", mail_server_down)
    at = vn(2025, 3, 3, 8, 0)
    with frozen(at), django_capture_on_commit_callbacks(execute=True):
        dossier_accept(dossier_id=submitted.pk, actor=reception)
    row = Notification.objects.get(dossier=submitted)
    waits = []
    while row.status == Notification.Status.PENDING:
        waits.append(row.next_attempt_at - at)
        at = row.next_attempt_at
        with frozen(at):
            sweep_notifications.delay().get()
        row.refresh_from_db()

    assert row.status == Notification.Status.FAILED
    assert row.attempts == 12
    assert waits[:4] == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
    assert max(waits) == timedelta(hours=1)


def test_delivering_a_notification_twice_sends_one_mail(
    submitted, reception, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier_accept(dossier_id=submitted.pk, actor=reception)
    row = Notification.objects.get(dossier=submitted)

    assert deliver_notification.delay(row.pk).get() == ""
    assert len(mailoutbox) == 1

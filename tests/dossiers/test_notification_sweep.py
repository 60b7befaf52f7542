"""Emails after a change: sent at once when tasks run in the process; with workers, a burst of
changes asks for one sweep, which sends every due row over one mail connection."""

from datetime import timedelta

from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend

import pytest

from dossiers.models import Notification
from dossiers.services import dossier_accept, notifications_sweep
from dossiers.services import notifications as notification_services
from portal import clock, effects
from tests.dossiers.factories import DossierFactory, ProcedureFactory

SWEEP = "dossiers.tasks.sweep_notifications"
DELIVER = "dossiers.tasks.deliver_notification"


class CountingBackend(EmailBackend):
    """The in-memory backend, counting how many times a connection is opened."""

    opened = 0

    def open(self):
        type(self).opened += 1
        return super().open()


@pytest.fixture
def queued(monkeypatch):
    """The email tasks asked for (the outbox relay's are left out)."""
    names = []

    def record(name, *args, countdown=None):
        if name in (SWEEP, DELIVER):
            names.append(name)
        return True

    monkeypatch.setattr(effects, "task_queue", record)
    return names


@pytest.fixture
def workers(settings):
    """Tasks go to a broker (as at scale) instead of running in the process, and the workers
    see the same cache (the sweep runs in this process below)."""
    from portal.celery import app

    settings.CACHE_SHARED = True
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    cache.delete(notification_services._SWEEP_ASKED)
    yield
    app.conf.task_always_eager = saved
    cache.delete(notification_services._SWEEP_ASKED)


@pytest.fixture
def submitted(agency, applicant):
    procedure = ProcedureFactory(agency=agency)

    def make(count: int):
        return [DossierFactory(submitted=True, applicant=applicant, procedure=procedure)
                for _ in range(count)]

    return make


def accept_all(dossiers, reception, capture):
    for dossier in dossiers:
        with capture(execute=True):
            dossier_accept(dossier_id=dossier.pk, actor=reception)


def test_in_process_each_change_sends_its_email_at_once(
    submitted, reception, queued, django_capture_on_commit_callbacks
):
    accept_all(submitted(3), reception, django_capture_on_commit_callbacks)

    assert queued == [DELIVER] * 3


def test_with_workers_that_do_not_share_the_cache_each_change_queues_its_email(
    workers, submitted, reception, queued, settings, django_capture_on_commit_callbacks
):
    settings.CACHE_SHARED = False

    accept_all(submitted(2), reception, django_capture_on_commit_callbacks)

    assert queued == [DELIVER, DELIVER]


def test_with_workers_a_burst_of_changes_asks_for_one_sweep_that_sends_them_all(
    workers, submitted, reception, applicant, settings, monkeypatch,
    django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_SWEEP_DELAY_SECONDS = 1.5
    queued = []
    monkeypatch.setattr(effects, "task_queue", lambda name, *args, countdown=None: queued.append(
        (name, countdown)) or True)
    dossiers = submitted(5)
    accept_all(dossiers, reception, django_capture_on_commit_callbacks)

    assert [q for q in queued if q[0] == SWEEP] == [(SWEEP, 1.5)]  # a moment later, once
    assert notifications_sweep() == 5
    assert sorted(m.to[0] for m in mail.outbox) == [applicant.email] * 5
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    # The sweep cleared the mark: the next change asks for a sweep of its own.
    accept_all(submitted(1), reception, django_capture_on_commit_callbacks)
    assert [q for q in queued if q[0] == SWEEP] == [(SWEEP, 1.5)] * 2


def test_a_change_that_found_a_sweep_already_asked_for_is_sent_by_that_sweep(
    workers, submitted, reception, queued, django_capture_on_commit_callbacks
):
    cache.set(notification_services._SWEEP_ASKED, True, 30)

    accept_all(submitted(1), reception, django_capture_on_commit_callbacks)

    assert queued == []
    assert notifications_sweep() == 1


def test_with_the_cache_down_each_change_asks_for_a_sweep(
    workers, submitted, reception, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(notification_services.cache, "add", down)

    accept_all(submitted(2), reception, django_capture_on_commit_callbacks)

    assert queued == [SWEEP, SWEEP]


def test_with_the_broker_down_the_mark_is_cleared_so_the_next_change_asks_again(
    workers, submitted, reception, monkeypatch, django_capture_on_commit_callbacks
):
    attempts = []

    def broker_down(name, *args, countdown=None):
        if name == SWEEP:
            attempts.append(name)
        return False

    monkeypatch.setattr(effects, "task_queue", broker_down)

    accept_all(submitted(2), reception, django_capture_on_commit_callbacks)

    assert attempts == [SWEEP, SWEEP]
    assert cache.get(notification_services._SWEEP_ASKED) is None
    assert Notification.objects.filter(status="pending").count() == 2


def test_the_sweep_sends_in_batches_over_one_connection_and_only_once(
    workers, submitted, reception, queued, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0
    accept_all(submitted(7), reception, django_capture_on_commit_callbacks)

    assert notifications_sweep(batch=3) == 7
    assert CountingBackend.opened == 1
    assert len(mail.outbox) == 7
    assert notifications_sweep(now=clock.now() + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 7


def test_the_sweep_stops_at_its_limit_and_the_next_one_goes_on(
    workers, submitted, reception, queued, django_capture_on_commit_callbacks
):
    accept_all(submitted(5), reception, django_capture_on_commit_callbacks)

    assert notifications_sweep(limit=2, batch=10) == 2
    assert Notification.objects.filter(status="pending").count() == 3
    assert notifications_sweep() == 3


def test_a_failed_email_in_a_sweep_is_kept_for_later_and_the_others_go_out(
    workers, submitted, reception, queued, monkeypatch, django_capture_on_commit_callbacks
):
    dossiers = submitted(3)
    accept_all(dossiers, reception, django_capture_on_commit_callbacks)
    refused = dossiers[1].pk
    send = notification_services.notification_send_transition

    def flaky(*, transition_id, row=None, connection=None):
        if row.dossier_id == refused:
            raise OSError("mailbox unavailable")
        return send(transition_id=transition_id, row=row, connection=connection)

    monkeypatch.setattr(notification_services, "notification_send_transition", flaky)

    assert notifications_sweep() == 2
    failed = Notification.objects.get(dossier_id=refused)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert "mailbox unavailable" in failed.last_error
    assert failed.next_attempt_at > clock.now()

"""The demo's emails and portal messages go out by the sweeps, a batch of dossiers at a time,
and end as a task after every change would have left them."""

from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime
from unittest import mock

import pytest

from dossiers.models import Notification, OutboundMessage
from dossiers.services import demo
from dossiers.services.demo import DEFERRED_TASKS, demo_seed
from dossiers.sla import VN_TZ
from integrations.adapters.fake import FakePortalAdapter
from integrations.base import SYSTEMS
from integrations.registry import override_portal_adapter
from portal.celery import app
from signatures.signers import reset_configured_signer

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=VN_TZ)


@pytest.fixture
def portals():
    with ExitStack() as stack:
        yield {s: stack.enter_context(override_portal_adapter(s, FakePortalAdapter(s)))
               for s in SYSTEMS}


@pytest.fixture
def queued():
    """The email and relay tasks handed to Celery (none should be, during the seed)."""
    import dossiers.tasks  # noqa: F401 - registers the tasks on the app

    calls = []
    with ExitStack() as stack:
        for name in DEFERRED_TASKS:
            stack.enter_context(mock.patch.object(
                app.tasks[name], "apply_async",
                lambda args=(), countdown=None, _name=name: calls.append((_name, args))))
        yield calls


def _undelivered() -> tuple[int, int]:
    emails = Notification.objects.filter(status=Notification.Status.PENDING).count()
    messages = OutboundMessage.objects.filter(status__in=OutboundMessage.UNSENT).exclude(
        status=OutboundMessage.Status.HELD).count()
    return emails, messages


def test_the_demo_sends_every_email_and_portal_message_by_the_sweeps_in_order(
        transactional_db, portals, queued, monkeypatch):
    monkeypatch.setattr(demo, "DELIVER_EVERY", 4)
    sweeps = []
    real_deliver = demo._deliver_owed
    monkeypatch.setattr(demo, "_deliver_owed", lambda: (sweeps.append(1), real_deliver()))
    at_opening = []
    reset_configured_signer()
    try:
        summary = demo_seed(dossiers=14, now=NOW, first_batch=6,
                            on_first_batch=lambda: at_opening.append(_undelivered()))
    finally:
        reset_configured_signer()

    assert summary.dossiers == 14
    assert queued == []  # no task after each change: the sweeps did the work
    # Before the portal opened (after 6), after 4, 8 and 12 dossiers, and at the end.
    assert len(sweeps) == 5
    assert at_opening == [(0, 0)]
    assert _undelivered() == (0, 0)
    assert Notification.objects.filter(status=Notification.Status.SKIPPED).count() == 0
    assert Notification.objects.filter(status=Notification.Status.SENT).exists()
    sent = OutboundMessage.objects.filter(status=OutboundMessage.Status.SENT).order_by("id")
    assert sent.exists()
    # Each portal got each dossier's messages once, in the order they were written.
    for system, fake in portals.items():
        written = defaultdict(list)
        for message in sent.filter(system=system):
            written[message.dossier_id].append(message.idempotency_key)
        received = defaultdict(list)
        for call in fake.calls:
            received[int(call.idempotency_key.split("-")[1])].append(call.idempotency_key)
        assert received == written, system

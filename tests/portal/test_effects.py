"""Work after a commit: tasks queued by name, or recorded while a caller defers them."""

from unittest import mock

from django.db import transaction

import pytest

from portal import effects
from portal.celery import app

DELIVER = "dossiers.tasks.deliver_notification"
RELAY = "dossiers.tasks.relay_outbox"
OVERDUE = "dossiers.tasks.sweep_overdue"


@pytest.fixture
def queued():
    """Every task actually handed to Celery, by name and args."""
    import dossiers.tasks  # noqa: F401 - registers the tasks on the app

    calls = []
    patches = [
        mock.patch.object(app.tasks[name], "apply_async",
                          lambda args=(), countdown=None, _name=name: calls.append((_name, args)))
        for name in (DELIVER, RELAY, OVERDUE)
    ]
    for patch in patches:
        patch.start()
    yield calls
    for patch in patches:
        patch.stop()


def test_deferred_tasks_are_recorded_in_order_and_not_queued(queued):
    with effects.tasks_deferred(DELIVER, RELAY) as recorded:
        assert effects.task_queue(DELIVER, 7) is True
        assert effects.task_queue(RELAY) is True
        assert effects.task_queue(DELIVER, 8) is True

    assert recorded == [(DELIVER, (7,)), (RELAY, ()), (DELIVER, (8,))]
    assert queued == []


def test_tasks_not_named_are_queued_while_others_are_deferred(queued):
    with effects.tasks_deferred(DELIVER) as recorded:
        effects.task_queue(OVERDUE)
        effects.task_queue(DELIVER, 1)

    assert queued == [(OVERDUE, ())]
    assert recorded == [(DELIVER, (1,))]


def test_tasks_are_queued_again_once_the_deferral_ends(queued):
    with effects.tasks_deferred(DELIVER):
        pass

    effects.task_queue(DELIVER, 3)

    assert queued == [(DELIVER, (3,))]


def test_a_nested_deferral_gives_back_the_outer_one(queued):
    with effects.tasks_deferred(DELIVER) as outer:
        with effects.tasks_deferred(RELAY) as inner:
            effects.task_queue(RELAY)
            effects.task_queue(DELIVER, 1)
        effects.task_queue(DELIVER, 2)

    assert inner == [(RELAY, ())]
    assert outer == [(DELIVER, (2,))]
    assert queued == [(DELIVER, (1,))]


def test_the_deferral_is_this_threads_only(queued):
    import threading

    with effects.tasks_deferred(DELIVER) as recorded:
        other = threading.Thread(target=effects.task_queue, args=(DELIVER, 5))
        other.start()
        other.join()

    assert recorded == []
    assert queued == [(DELIVER, (5,))]


def test_a_task_after_commit_is_recorded_when_the_commit_comes_inside_the_deferral(
        transactional_db, queued):
    with effects.tasks_deferred(RELAY) as recorded, transaction.atomic():
        effects.task_after_commit(RELAY)
        assert recorded == []

    assert recorded == [(RELAY, ())]
    assert queued == []

"""Work that follows a commit: queued by task name, never raised into the committed caller.

A service that committed has succeeded; what it leaves for later (mail, the outbox relay) is
stored state that a periodic sweep picks up. Queueing is therefore best effort: when the broker
is down, or an eager task fails, the failure is logged and the caller's answer stands.
"""

import importlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

log = logging.getLogger(__name__)
# The tasks this thread records instead of queueing (`tasks_deferred`), with their record.
_deferral = threading.local()


@contextmanager
def tasks_deferred(*names: str) -> Iterator[list[tuple[str, tuple]]]:
    """While active in this thread, the tasks `names` are recorded (name and args, in order)
    instead of queued: their work is done by their sweeps, which the caller runs, from the
    rows the changes wrote. Other tasks are queued as usual."""
    previous = getattr(_deferral, "active", None)
    recorded: list[tuple[str, tuple]] = []
    _deferral.active = (frozenset(names), recorded)
    try:
        yield recorded
    finally:
        _deferral.active = previous


def _recorded(name: str, args: tuple) -> bool:
    active = getattr(_deferral, "active", None)
    if active is None or name not in active[0]:
        return False
    active[1].append((name, args))
    return True


def task_queue(name: str, *args, countdown: float | None = None) -> bool:
    """Queue the Celery task `name` with `args` now (to run `countdown` seconds later, when
    given); False (logged) when it could not be."""
    from .celery import app  # the project's app, whatever app another library made current

    if _recorded(name, args):
        return True
    try:
        if name not in app.tasks:  # a web process imports task modules on demand
            importlib.import_module(name.rpartition(".")[0])
        app.tasks[name].apply_async(args=args, countdown=countdown)
    except Exception:
        log.exception("task %s%r not queued; its sweep will retry", name, args)
        return False
    return True


def task_after_commit(name: str, *args) -> None:
    """Queue the Celery task `name` with `args` once the current transaction commits."""
    transaction.on_commit(lambda: task_queue(name, *args), robust=True)

"""Work that follows a commit: queued by task name, never raised into the committed caller.

A service that committed has succeeded; what it leaves for later (mail, the outbox relay) is
stored state that a periodic sweep picks up. Queueing is therefore best effort: when the broker
is down, or an eager task fails, the failure is logged and the caller's answer stands.
"""

import importlib
import logging

from django.db import transaction

log = logging.getLogger(__name__)


def task_queue(name: str, *args, countdown: float | None = None) -> bool:
    """Queue the Celery task `name` with `args` now (to run `countdown` seconds later, when
    given); False (logged) when it could not be."""
    from .celery import app  # the project's app, whatever app another library made current

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

"""The Celery app and its static beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "sweep-overdue-dossiers": {
        "task": "dossiers.tasks.sweep_overdue",
        "schedule": crontab(minute="*/15"),
    },
    # Emails whose first attempt failed or whose task was never queued (broker down).
    "deliver-notifications": {
        "task": "dossiers.tasks.sweep_notifications",
        "schedule": crontab(minute="*/2"),
    },
    # Retries the outbox rows whose backoff ran out or whose relay died mid-send.
    "relay-outbox": {
        "task": "dossiers.tasks.relay_outbox",
        "schedule": crontab(minute="*"),
    },
    # Payments left pending past PAYMENT_RECONCILE_AFTER_SECONDS: the callback never came.
    "reconcile-payments": {
        "task": "dossiers.tasks.reconcile_payments",
        "schedule": crontab(minute="*/5"),
    },
    "refresh-revocation-cache": {
        "task": "signatures.tasks.refresh_revocation_cache",
        "schedule": crontab(minute=7),
    },
    # Uploads whose verification task was never queued or was lost.
    "verify-pending-signatures": {
        "task": "dossiers.tasks.verify_pending_signatures",
        "schedule": crontab(minute="*/10"),
    },
    # Supplement requests past their reply deadline: returned or refused, as the procedure says.
    "expire-supplement-requests": {
        "task": "dossiers.tasks.expire_supplement_requests",
        "schedule": crontab(minute="*/15"),
    },
    # Files whose upload or issuing was killed between writing them and committing the row.
    "sweep-orphan-files": {
        "task": "dossiers.tasks.sweep_orphan_files",
        "schedule": crontab(minute=41),
    },
    "recheck-unsettled-signatures": {
        "task": "dossiers.tasks.recheck_unsettled_signatures",
        "schedule": crontab(minute="*/30"),
    },
}

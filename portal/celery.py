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
    "refresh-revocation-cache": {
        "task": "signatures.tasks.refresh_revocation_cache",
        "schedule": crontab(minute=7),
    },
    "recheck-unsettled-signatures": {
        "task": "dossiers.tasks.recheck_unsettled_signatures",
        "schedule": crontab(minute="*/30"),
    },
}

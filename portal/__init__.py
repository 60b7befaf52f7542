"""Project kernel: settings, URLs, the Celery app and the shared error vocabulary."""

from .celery import app as celery_app

__all__ = ("celery_app",)

"""Celery shims of the signatures capability."""

from celery import shared_task

from .services import revocation_cache_refresh


@shared_task(ignore_result=True)
def refresh_revocation_cache() -> None:
    revocation_cache_refresh()

"""Celery shims of the signatures capability."""

from celery import shared_task

from .ocsp import ocsp_refresh, ocsp_targets_in_trust_store
from .services import revocation_cache_refresh


@shared_task(ignore_result=True)
def refresh_revocation_cache() -> None:
    revocation_cache_refresh()
    ocsp_refresh(targets=ocsp_targets_in_trust_store())

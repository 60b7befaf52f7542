"""Celery shims: load by id, call one service."""

from django.conf import settings

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(notification_id: int) -> str:
    """One email; a failure is recorded on its row and retried by `sweep_notifications`."""
    from .services.notifications import notification_deliver

    return notification_deliver(notification_id=notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_notifications() -> int:
    from .services.notifications import notifications_sweep

    return notifications_sweep()


@shared_task
def sweep_overdue() -> int:
    from .services.queue import dossier_flag_overdue

    return len(dossier_flag_overdue())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def relay_outbox() -> int:
    """Send the due outbox messages; a worker lost mid-send leaves a lease that runs out."""
    from .services.sync import outbox_relay

    return outbox_relay().sent


@shared_task(
    acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.SIGNATURES_TASK_TIME_LIMIT,
    time_limit=settings.SIGNATURES_TASK_TIME_LIMIT + 30,
)
def verify_document_signatures(document_id: int) -> str:
    """Large or many-signature uploads are verified here, within the worker's limits."""
    from .services.signing import document_verify_signatures

    document = document_verify_signatures(document_id=document_id)
    return document.signature_verdict if document else ""


@shared_task
def verify_pending_signatures() -> int:
    """Uploads whose verification task was lost are queued again."""
    from .services.signing import documents_verify_pending

    return len(documents_verify_pending())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_payments(older_than_seconds: int | None = None) -> int:
    """Ask the payment provider about payments left pending; the number settled as paid."""
    from datetime import timedelta

    from .services.payments import payment_reconcile

    older_than = None if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    return payment_reconcile(older_than=older_than).paid


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recheck_unsettled_signatures() -> int:
    """Signatures waiting for revocation data get it fetched and are verified again."""
    from .services.signing import documents_recheck_revocation

    return len(documents_recheck_revocation())


@shared_task
def expire_supplement_requests() -> int:
    """Supplement requests left unanswered past their deadline go to the procedure's action."""
    from .services.supplements import supplement_expire_due

    return len(supplement_expire_due())


@shared_task
def sweep_orphan_files() -> int:
    """Stored files whose upload or issuing died before its commit are deleted."""
    from .services.orphans import stored_files_sweep

    return len(stored_files_sweep())

"""Celery shims: load by id, call one service."""

from django.conf import settings

from celery import shared_task


@shared_task(bind=True, max_retries=5, acks_late=True, reject_on_worker_lost=True)
def notify_applicant(self, transition_id: int) -> None:
    from .services import notification_send_transition

    try:
        notification_send_transition(transition_id=transition_id)
    except OSError as exc:  # the mail server is down: try again later
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


@shared_task(bind=True, max_retries=5, acks_late=True, reject_on_worker_lost=True)
def notify_overdue(self, dossier_id: int) -> None:
    from .services import notification_send_overdue

    try:
        notification_send_overdue(dossier_id=dossier_id)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


@shared_task
def sweep_overdue() -> int:
    from .services import dossier_flag_overdue

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

"""The outbox: messages to the national and provincial portals, written with each change and
delivered by a relay in order per dossier, with backoff, a dead state and a re-drive."""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from integrations.exceptions import IntegrationError
from portal import clock

from ..models import Dossier, DossierTransition, OutboundMessage
from .portal_sync import Attachments, attachments_for, deliver

log = logging.getLogger(__name__)

# Moves that bring a dossier to the portals' attention: the first message carries the whole
# dossier; every later move of a received dossier is a progress update.
FIRST_SYNC = {"accept", "refuse_at_reception"}


def outbox_messages_for(*, dossier: Dossier, row: DossierTransition) -> list[OutboundMessage]:
    """The messages a state change owes the portals (not saved): none before reception."""
    if row.name not in FIRST_SYNC and dossier.received_at is None:
        return []
    kind = (OutboundMessage.Kind.PUSH_DOSSIER if row.name in FIRST_SYNC
            else OutboundMessage.Kind.PUSH_PROGRESS)
    payload = _snapshot_payload(dossier, row)
    return [
        OutboundMessage(
            dossier=dossier, system=system, kind=kind, payload=payload,
            idempotency_key=f"{system}-{dossier.pk}-{row.pk}", next_attempt_at=row.at,
            created_at=row.at,
        )
        for system in settings.SYNC_SYSTEMS
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _snapshot_payload(dossier: Dossier, row: DossierTransition) -> dict:
    """What the portals are told, as it stood at the change (read from loaded rows only)."""
    return {
        "dossier_id": dossier.pk,
        "code": dossier.code,
        # Our procedure code; the adapter maps it to the remote one through its table.
        "procedure_code": dossier.procedure.national_code or f"LOCAL-{dossier.procedure_id}",
        "procedure_name": dossier.procedure.name,
        "agency": dossier.handling_agency.code,
        "channel": dossier.channel,
        "state": row.to_state,
        "transition": row.name,
        "at": _iso(row.at),
        "reason": row.reason,
        "submitted_at": _iso(dossier.submitted_at),
        "received_at": _iso(dossier.received_at),
        "due_at": _iso(dossier.due_at),
        "new_appointment_at": _iso(dossier.new_appointment_at),
        "completed_at": _iso(dossier.completed_at),
        "returned_at": _iso(dossier.returned_at),
        "outcome": dossier.outcome,
        "applicant": {
            "name": dossier.applicant.display_name,
            "tax_code": dossier.applicant.tax_code,
            "citizen_id": dossier.applicant.citizen_id,
        },
    }


def outbox_enqueue(*, dossier: Dossier, row: DossierTransition) -> int:
    """Write the change's messages in the caller's transaction: one INSERT at most."""
    messages = outbox_messages_for(dossier=dossier, row=row)
    if messages:
        OutboundMessage.objects.bulk_create(messages)
    return len(messages)


# --- the relay -----------------------------------------------------------------------


@dataclass
class RelayReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead


def _due(now: datetime):
    earlier_unsent = OutboundMessage.objects.filter(
        dossier_id=OuterRef("dossier_id"), system=OuterRef("system"), id__lt=OuterRef("id"),
        status__in=OutboundMessage.UNSENT,
    )
    return (
        OutboundMessage.objects.filter(
            Q(status__in=[OutboundMessage.Status.PENDING, OutboundMessage.Status.FAILED],
              next_attempt_at__lte=now)
            # A relay that died mid-send leaves its lease behind; it runs out and we retry.
            | Q(status=OutboundMessage.Status.SENDING, lease_until__lt=now)
        )
        .exclude(Exists(earlier_unsent))
        .order_by("next_attempt_at", "id")
    )


def outbox_claim(*, limit: int, now: datetime | None = None) -> list[int]:
    """Lease up to `limit` due messages, the oldest unsent one of each dossier and system.

    Several relays may run at once on PostgreSQL: rows another relay is claiming are skipped
    (FOR UPDATE SKIP LOCKED), and a message waits while an earlier one of its dossier is unsent.
    """
    now = now or clock.now()
    with transaction.atomic():
        qs = _due(now)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("id", flat=True)[:limit])
        if ids:
            OutboundMessage.objects.filter(id__in=ids).update(
                status=OutboundMessage.Status.SENDING,
                lease_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
            )
    return ids


def _backoff(attempts: int) -> timedelta:
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    capped = min(base, settings.OUTBOX_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=capped * random.uniform(0.5, 1.0))  # noqa: S311 - jitter only


def _send(message: OutboundMessage, attachments: Attachments | None = None) -> str:
    """Deliver one message through the system's adapter; returns the remote reference."""
    return deliver(message, attachments=attachments)


def _is_rejection(exc: Exception) -> bool:
    """The remote side refused the message itself (4xx): retrying the same bytes won't help."""
    return isinstance(exc, IntegrationError) and not exc.retryable


def _attempt(message: OutboundMessage, attachments: Attachments | None = None
             ) -> tuple[str | None, Exception | None]:
    try:
        return _send(message, attachments), None
    except Exception as exc:  # every failure is recorded on the row, never lost
        return None, exc


def _record(message: OutboundMessage, reference: str | None, error: Exception | None,
            now: datetime) -> OutboundMessage:
    """Write the outcome of one send on its row (still ours: status `sending`)."""
    message.attempts += 1
    message.lease_until = None
    if error is None:
        message.status = OutboundMessage.Status.SENT
        message.sent_at = now
        message.external_reference = (reference or "")[:128]
        message.last_error = ""
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=message.status, sent_at=now, attempts=message.attempts,
            external_reference=message.external_reference, lease_until=None, last_error="",
        )
        return message
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if _is_rejection(error) or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        message.status = OutboundMessage.Status.DEAD
    else:
        message.status = OutboundMessage.Status.FAILED
        message.next_attempt_at = now + _backoff(message.attempts)
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.SENDING).update(
        status=message.status, attempts=message.attempts, last_error=message.last_error,
        lease_until=None, next_attempt_at=message.next_attempt_at,
    )
    log.warning("outbox %s to %s failed (%s): %s", message.pk, message.system,
                message.status, message.last_error)
    return message


def outbox_deliver(*, message_id: int, now: datetime | None = None) -> OutboundMessage:
    """Send one leased message and record the result; nothing is held locked while sending."""
    message = OutboundMessage.objects.get(pk=message_id)
    if message.status != OutboundMessage.Status.SENDING:
        return message  # delivered or re-driven meanwhile: nothing to do
    reference, error = _attempt(message)
    return _record(message, reference, error, now or clock.now())


def _release(ids: list[int]) -> None:
    """Hand claimed but unsent messages back, as due as they were; no attempt is counted."""
    if not ids:
        return
    leased = OutboundMessage.objects.filter(pk__in=ids, status=OutboundMessage.Status.SENDING)
    leased.filter(attempts=0).update(status=OutboundMessage.Status.PENDING, lease_until=None)
    leased.filter(attempts__gt=0).update(status=OutboundMessage.Status.FAILED, lease_until=None)


def _send_budget() -> float:
    """Seconds one send may take at worst: stop taking new ones this close to the lease's end."""
    return float(settings.INTEGRATIONS_CONNECT_TIMEOUT) + float(settings.INTEGRATIONS_READ_TIMEOUT)


def outbox_relay(*, batch: int = 100, max_rounds: int = 50) -> RelayReport:
    """Send every due message, round after round (each round frees the next per dossier).

    One round: claim up to `batch` messages (the oldest unsent one of each dossier and system),
    load them and their documents in a few queries, send them one by one, then record every
    outcome in one short transaction. A crash before that write leaves leases that run out:
    those messages go again under the same idempotency keys and the portals answer them from
    memory. Within a round, a system that failed with a retryable error is not tried again
    (its remaining messages are handed back without counting an attempt), and no send starts
    when the lease could run out before it ends, so no other relay takes a row still in flight.
    """
    report = RelayReport()
    for _ in range(max_rounds):
        claimed_at = clock.now()
        ids = outbox_claim(limit=batch, now=claimed_at)
        if not ids:
            break
        lease_end = claimed_at + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        messages = list(OutboundMessage.objects.filter(
            pk__in=ids, status=OutboundMessage.Status.SENDING).order_by("next_attempt_at", "id"))
        attachments = attachments_for(messages)
        outcomes, unsent, down = [], [], set()
        for message in messages:
            # The first send starts with the lease fresh; later ones only with time to finish.
            late = bool(outcomes) and (
                clock.now() + timedelta(seconds=_send_budget()) >= lease_end)
            if late or message.system in down:
                unsent.append(message.pk)
                continue
            reference, error = _attempt(message, attachments)
            if error is not None and not _is_rejection(error):
                down.add(message.system)
            outcomes.append((message, reference, error))
        with transaction.atomic():
            now = clock.now()
            done = [_record(m, reference, error, now) for m, reference, error in outcomes]
            _release(unsent + [pk for pk in ids if pk not in {m.pk for m in messages}])
        for message in done:
            if message.status == OutboundMessage.Status.SENT:
                report.sent += 1
            elif message.status == OutboundMessage.Status.DEAD:
                report.dead += 1
                report.errors.append(message.last_error)
            else:
                report.failed += 1
                report.errors.append(message.last_error)
        if not any(m.status == OutboundMessage.Status.SENT for m in done):
            break  # everything failed this round: the backoff decides when to try again
    return report


@transaction.atomic(durable=True)
def outbox_redrive(*, message_ids: list[int] | None = None) -> int:
    """Put dead messages back in the queue (an administrator fixed the cause)."""
    qs = OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD)
    if message_ids is not None:
        qs = qs.filter(pk__in=message_ids)
    return qs.update(status=OutboundMessage.Status.PENDING, attempts=0,
                     next_attempt_at=clock.now(), lease_until=None)

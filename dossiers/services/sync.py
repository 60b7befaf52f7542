"""The outbox: messages to the national and provincial portals, written with each change and
delivered by a relay in order per dossier, with backoff, a dead state and a re-drive.

What a failure does to a message:
- the portal refused the message itself (a 4xx that says why): dead at once;
- the portal refused our credentials, answered something we cannot read, or a mapping or
  setting is missing: retried with backoff for as long as it takes, never dead, and flagged
  for the administrators (`attention`, an error in the log);
- anything else (network, timeouts, 5xx, 408, 429): retried with backoff, dead after
  OUTBOX_MAX_ATTEMPTS.
A procedure without a national code would go out under a code the portals do not know: its
messages are held (`held`) until an administrator enters the code, then go by themselves.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from integrations.deadlines import deadline
from integrations.exceptions import IntegrationError
from portal import clock

from ..models import Dossier, DossierTransition, OutboundMessage
from .portal_sync import Attachments, attachments_for, deliver

log = logging.getLogger(__name__)

# Up to and including reception (this move) the portals may not hold the dossier yet, and
# what they should hold still changes (documents, form): those changes send the whole dossier.
# Every later change is a progress update.
RECEPTION = "accept"
# Every send ends this share of the lease before the lease does: the outcomes of a round are
# recorded after its last send, and must be recorded while the lease still holds.
LEASE_MARGIN = 0.1


def _held_error(dossier: Dossier) -> str:
    return _(
        "Thủ tục “%(name)s” chưa có mã TTHC quốc gia: thông điệp được giữ lại, sẽ tự gửi khi "
        "quản trị viên nhập mã cho thủ tục."
    ) % {"name": dossier.procedure.name[:200]}


def _systems_for(dossier: Dossier, row: DossierTransition) -> list[str]:
    systems = list(settings.SYNC_SYSTEMS)
    if row.name == "submit":
        # A dossier submitted on a portal is not announced back to it: it came from there.
        systems = [s for s in systems if dossier.channel != f"{s}_portal"]
    return systems


def outbox_messages_for(*, dossier: Dossier, row: DossierTransition) -> list[OutboundMessage]:
    """The messages a state change owes the portals (not saved): every change from submission
    on, each with its time; held while the procedure has no national code."""
    if not dossier.code:
        return []  # a draft: the portals cannot know it under any code yet
    kind = (OutboundMessage.Kind.PUSH_DOSSIER
            if row.name == RECEPTION or dossier.received_at is None
            else OutboundMessage.Kind.PUSH_PROGRESS)
    payload = _snapshot_payload(dossier, row)
    held = {}
    if not payload["procedure_code"]:
        held = {"status": OutboundMessage.Status.HELD,
                "attention": OutboundMessage.Attention.PROCEDURE_CODE,
                "last_error": _held_error(dossier)}
    return [
        OutboundMessage(
            dossier=dossier, system=system, kind=kind, payload=payload,
            idempotency_key=f"{system}-{dossier.pk}-{row.pk}", next_attempt_at=row.at,
            created_at=row.at, **held,
        )
        for system in _systems_for(dossier, row)
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# The portals' ChucDanh when the officer's own title is not filled in, by who makes the move.
RECEPTION_MOVES = frozenset({
    "register", "hand_over", "accept", "return_for_completion", "refuse_at_reception",
    "return_result", "hand_over_refusal", "return_unanswered",
})
LEADER_MOVES = frozenset({"approve", "refuse", "send_back", "issue_result", "reschedule",
                          "refuse_unanswered"})
APPLICANT_TITLE = "Người nộp hồ sơ"
FEE_NAME = "Phí, lệ phí giải quyết thủ tục hành chính"


def _default_title(move: str) -> str:
    if move in RECEPTION_MOVES:
        return "Cán bộ tiếp nhận và trả kết quả"
    if move in LEADER_MOVES:
        return "Lãnh đạo"
    return "Chuyên viên"


def _unit_of(dossier: Dossier, person) -> str:
    """The handler's unit: their agency (reception or handling) while units are not modelled."""
    for agency in (dossier.reception_agency, dossier.handling_agency):
        if agency.code == person.agency_code:
            return agency.name
    return dossier.handling_agency.name


def handler_of(dossier: Dossier, row: DossierTransition) -> dict:
    """Who the portals name for a change (NguoiXuLy, ChucDanh, PhongBanXuLy): the officer who
    made it; for the applicant's own moves, the officer who holds the dossier, else the
    applicant at the reception desk's unit."""
    actor = row.actor if row.actor_id else None
    person = actor if actor is not None and actor.agency_code else None
    move = row.name
    if person is None and dossier.assignee_id:
        person = dossier.assignee
        role = dossier.current_step.role if dossier.current_step_id else ""
        move = {"leader": "approve", "reception": "accept"}.get(role, "propose")
    if person is None:
        return {"name": dossier.applicant.display_name, "title": APPLICANT_TITLE,
                "unit": dossier.reception_agency.name}
    return {"name": person.display_name, "title": person.title or _default_title(move),
            "unit": _unit_of(dossier, person)}


def _step_span(dossier: Dossier, row: DossierTransition) -> tuple:
    """The current step's start and legal end (NgayBatDau, NgayKetThucTheoQuyDinh); between
    steps, the change itself and the dossier's legal end; nothing before reception."""
    if dossier.current_step_id and dossier.step_started_at:
        return dossier.step_started_at, dossier.step_due_at or dossier.due_at
    if dossier.received_at:
        return row.at, dossier.due_at
    return None, None


def fees_of(dossier: Dossier) -> list[dict]:
    fee = dossier.procedure.fee_vnd
    return [{"name": FEE_NAME, "amount": int(fee), "kind": "fee"}] if fee else []


def summary_of(dossier: Dossier) -> str:
    """TrichYeuHoSo: the procedure and the applicant, as a register's summary line reads."""
    return f"{dossier.procedure.name} – {dossier.applicant.display_name}"[:500]


def _snapshot_payload(dossier: Dossier, row: DossierTransition) -> dict:
    """What the portals are told, as it stood at the change (read from loaded rows only)."""
    step_started_at, step_due_at = _step_span(dossier, row)
    return {
        "dossier_id": dossier.pk,
        "code": dossier.code,
        # A dossier submitted on a portal is known there, and to the portals, by that code.
        "external_code": dossier.external_code or "",
        # The national code; the adapter maps it to the remote one through its table.
        "procedure_code": dossier.procedure.national_code,
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
            "email": dossier.applicant.email,
            "phone": dossier.applicant.phone,
        },
        "agency_name": dossier.handling_agency.name,
        "agency_national_code": dossier.handling_agency.national_code,
        "summary": summary_of(dossier),
        "fees": fees_of(dossier),
        "handler": handler_of(dossier, row),
        "step_started_at": _iso(step_started_at),
        "step_due_at": _iso(step_due_at),
    }


def outbox_enqueue(*, dossier: Dossier, row: DossierTransition) -> int:
    """Write the change's messages in the caller's transaction (one INSERT at most); answers
    how many of them are due now (held ones wait for the procedure's national code, which the
    periodic relay releases)."""
    messages = outbox_messages_for(dossier=dossier, row=row)
    if messages:
        OutboundMessage.objects.bulk_create(messages)
    return sum(m.status != OutboundMessage.Status.HELD for m in messages)


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


def _alert(exc: Exception) -> str:
    """What an administrator must fix for this failure (an Attention value), or ""."""
    if isinstance(exc, IntegrationError):
        return exc.alert
    if isinstance(exc, ImproperlyConfigured):
        return OutboundMessage.Attention.CONFIGURATION
    return ""


def _attempt(message: OutboundMessage, attachments: Attachments | None, *, seconds: float
             ) -> tuple[str | None, Exception | None]:
    """One send, cut when `seconds` have passed, whatever pace the answer comes at."""
    try:
        with deadline(seconds):
            return _send(message, attachments), None
    except Exception as exc:  # every failure is recorded on the row, never lost
        return None, exc


def _record(message: OutboundMessage, reference: str | None, error: Exception | None,
            now: datetime) -> OutboundMessage:
    """Write the outcome of one send on its row (still ours: status `sending`)."""
    message.attempts += 1
    message.lease_until = None
    message.last_attempt_at = now
    if error is None:
        message.status = OutboundMessage.Status.SENT
        message.sent_at = now
        message.external_reference = (reference or "")[:128]
        message.last_error = message.attention = ""
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=message.status, sent_at=now, attempts=message.attempts,
            external_reference=message.external_reference, lease_until=None, last_error="",
            attention="", last_attempt_at=now,
        )
        return message
    # What an administrator reads: the error's own (Vietnamese) message and its stable code.
    message.last_error = f"{error} [{getattr(error, 'code', type(error).__name__)}]"[:2000]
    message.attention = _alert(error)
    if _is_rejection(error) or (
        not message.attention and message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    ):
        message.status = OutboundMessage.Status.DEAD
    else:
        message.status = OutboundMessage.Status.FAILED
        message.next_attempt_at = now + _backoff(message.attempts)
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.SENDING).update(
        status=message.status, attempts=message.attempts, last_error=message.last_error,
        attention=message.attention, lease_until=None, next_attempt_at=message.next_attempt_at,
        last_attempt_at=now,
    )
    if message.attention:
        log.error("outbox %s to %s needs an administrator (%s), retried at %s: %s",
                  message.pk, message.system, message.attention,
                  message.next_attempt_at.isoformat(), message.last_error)
    else:
        expected = isinstance(error, IntegrationError | ImproperlyConfigured)
        log.warning("outbox %s to %s failed (%s): %s", message.pk, message.system,
                    message.status, message.last_error, exc_info=None if expected else error)
    return message


def _send_budget() -> float:
    """Seconds one send may take at worst: each send is cut there (`deadlines.deadline`)."""
    return float(settings.INTEGRATIONS_CONNECT_TIMEOUT) + float(settings.INTEGRATIONS_READ_TIMEOUT)


def _send_window(lease_end: datetime) -> float:
    """Seconds left for sending before the lease, less the margin to record the outcomes."""
    margin = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS * LEASE_MARGIN)
    return (lease_end - margin - clock.now()).total_seconds()


def outbox_deliver(*, message_id: int, now: datetime | None = None) -> OutboundMessage:
    """Send one leased message and record the result; nothing is held locked while sending."""
    message = OutboundMessage.objects.get(pk=message_id)
    if message.status != OutboundMessage.Status.SENDING:
        return message  # delivered or re-driven meanwhile: nothing to do
    window = _send_window(message.lease_until) if message.lease_until else _send_budget()
    reference, error = _attempt(message, None, seconds=max(0.0, min(_send_budget(), window)))
    return _record(message, reference, error, now or clock.now())


def _release(ids: list[int]) -> None:
    """Hand claimed but unsent messages back, as due as they were; no attempt is counted."""
    if not ids:
        return
    leased = OutboundMessage.objects.filter(pk__in=ids, status=OutboundMessage.Status.SENDING)
    leased.filter(attempts=0).update(status=OutboundMessage.Status.PENDING, lease_until=None)
    leased.filter(attempts__gt=0).update(status=OutboundMessage.Status.FAILED, lease_until=None)


def outbox_release_held(*, message_ids: list[int] | None = None) -> int:
    """Held messages whose procedure has a national code by now go out with it."""
    held = OutboundMessage.objects.filter(
        status=OutboundMessage.Status.HELD, dossier__procedure__national_code__gt="")
    if message_ids is not None:
        held = held.filter(pk__in=message_ids)
    released = 0
    now = clock.now()
    for message in held.annotate(code=F("dossier__procedure__national_code")).only(
            "pk", "payload"):
        message.payload["procedure_code"] = message.code
        released += OutboundMessage.objects.filter(
            pk=message.pk, status=OutboundMessage.Status.HELD).update(
            payload=message.payload, status=OutboundMessage.Status.PENDING, attention="",
            last_error="", next_attempt_at=now,
        )
    return released


def outbox_relay(*, batch: int = 100, max_rounds: int = 50) -> RelayReport:
    """Send every due message, round after round (each round frees the next per dossier).

    One round: claim up to `batch` messages (the oldest unsent one of each dossier and system),
    load them and their documents in a few queries, send them one by one, then record every
    outcome in one short transaction. A crash before that write leaves leases that run out:
    those messages go again under the same idempotency keys and the portals answer them from
    memory. Within a run, a system that failed with a retryable error is not tried again
    (its remaining messages are handed back without counting an attempt). Every send is cut
    at a total deadline that ends before the lease does (less a margin to record the round),
    and a send after the first starts only with its whole budget left, so no other relay
    takes a row still in flight.
    """
    report = RelayReport()
    outbox_release_held()
    budget = _send_budget()
    down: set[str] = set()  # systems that failed this run: tried once per run, not per round
    for _round in range(max_rounds):
        claimed_at = clock.now()
        ids = outbox_claim(limit=batch, now=claimed_at)
        if not ids:
            break
        lease_end = claimed_at + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        messages = list(OutboundMessage.objects.filter(
            pk__in=ids, status=OutboundMessage.Status.SENDING).order_by("next_attempt_at", "id"))
        attachments = attachments_for(messages)
        outcomes, unsent = [], []
        for message in messages:
            window = _send_window(lease_end)
            if message.system in down or window <= 0 or (outcomes and window < budget):
                unsent.append(message.pk)
                continue
            reference, error = _attempt(message, attachments, seconds=min(budget, window))
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
        if len(ids) < batch and not _followers_unsent(done):
            break  # the claim took every due message and sending freed none behind them
    return report


def _followers_unsent(done: list[OutboundMessage]) -> bool:
    """Whether a message sent this round may have one of its dossier and system waiting
    behind it (due only once the earlier one is sent): then another round is worth it."""
    sent = [m for m in done if m.status == OutboundMessage.Status.SENT]
    return OutboundMessage.objects.filter(
        dossier_id__in={m.dossier_id for m in sent}, system__in={m.system for m in sent},
        status__in=OutboundMessage.UNSENT,
    ).exists()


@transaction.atomic(durable=True)
def outbox_redrive(*, message_ids: list[int] | None = None) -> int:
    """Send again now (an administrator fixed the cause): dead messages start over, failed
    ones are due at once, held ones go if their procedure has its national code by now."""
    now = clock.now()
    dead = OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD)
    failed = OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
    if message_ids is not None:
        dead, failed = dead.filter(pk__in=message_ids), failed.filter(pk__in=message_ids)
    count = dead.update(status=OutboundMessage.Status.PENDING, attempts=0, next_attempt_at=now,
                        lease_until=None)
    count += failed.update(next_attempt_at=now)
    return count + outbox_release_held(message_ids=message_ids)


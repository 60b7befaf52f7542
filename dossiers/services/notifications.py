"""Emails to applicants and officers: a row written with the change, delivered after the commit
by a task, and retried by a sweep from that row until it goes out."""

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import clock, effects
from portal.prepared import Prepared
from portal.roles import Role

from ..models import Dossier, DossierTransition, Notification

log = logging.getLogger(__name__)

DELIVER_TASK = "dossiers.tasks.deliver_notification"
SWEEP_TASK = "dossiers.tasks.sweep_notifications"
# Set while a sweep is queued and has not started (see `_delivery_ask`); it lapses by itself.
_SWEEP_ASKED = "notifications:sweep-asked"
_SWEEP_ASKED_SECONDS = 30
# How long one delivery may hold a row before another sender may take it over.
_LEASE = timedelta(minutes=5)
_MAX_BACKOFF = timedelta(hours=1)
# About eight hours of retries before a row is marked failed for an administrator to see.
_MAX_ATTEMPTS = 12

User = get_user_model()


def _fmt(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def notification_send_transition(
    *, transition_id: int, row: DossierTransition | None = None, connection=None
) -> bool:
    """Tell the applicant what changed on their dossier; False if there is nobody to tell.
    `row`: the transition already read with its dossier, applicant and procedure; `connection`:
    an open mail connection to send through (one of its own otherwise)."""
    if row is None:
        row = (
            DossierTransition.objects.select_related("dossier__applicant", "dossier__procedure")
            .filter(pk=transition_id)
            .first()
        )
    if row is None or not row.dossier.applicant.email:
        return False
    dossier = row.dossier
    subject_state = Dossier.State(row.to_state).label
    if row.name == "reschedule":
        subject_state = _("hẹn lại ngày trả kết quả")
        news = _(
            "Cơ quan giải quyết chân thành xin lỗi vì hồ sơ %(code)s (%(procedure)s) chưa thể "
            "trả kết quả đúng hẹn. Ngày hẹn trả kết quả mới: %(new)s."
        ) % {"code": dossier.code, "procedure": dossier.procedure.name,
             "new": _fmt(dossier.new_appointment_at)}
    elif row.name == "retime":
        subject_state = _("điều chỉnh ngày hẹn trả kết quả")
        news = _(
            "Do lịch làm việc của cơ quan được điều chỉnh, ngày hẹn trả kết quả của hồ sơ "
            "%(code)s (%(procedure)s) nay là: %(new)s."
        ) % {"code": dossier.code, "procedure": dossier.procedure.name,
             "new": _fmt(dossier.due_at)}
    else:
        news = _("Hồ sơ %(code)s (%(procedure)s) đã chuyển sang trạng thái: %(state)s.") % {
            "code": dossier.code or "", "procedure": dossier.procedure.name,
            "state": subject_state,
        }
    lines = [_("Kính gửi %(name)s,") % {"name": dossier.applicant.display_name}, "", news]
    if row.reason:
        lines.append(_("Lý do / nội dung: %(reason)s") % {"reason": row.reason})
    if dossier.due_at and row.to_state == Dossier.State.PROCESSING:
        lines.append(_("Ngày hẹn trả kết quả: %(due)s") % {"due": _fmt(dossier.due_at)})
    lines += [
        "",
        _("Tra cứu: %(url)s/tra-cuu/?code=%(code)s") % {
            "url": settings.PORTAL_BASE_URL, "code": dossier.code or "",
        },
    ]
    send_mail(
        subject=_("[Một Cửa] Hồ sơ %(code)s: %(state)s")
        % {"code": dossier.code or "", "state": subject_state},
        message="\n".join(str(line) for line in lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[dossier.applicant.email],
        connection=connection,
    )
    return True


def notification_send_overdue(*, dossier_id: int, connection=None) -> list[str]:
    """Warn the assignee and the agency's managers that a dossier is overdue."""
    dossier = (
        Dossier.objects.select_related("assignee", "procedure", "handling_agency")
        .filter(pk=dossier_id).first()
    )
    if dossier is None:
        return []
    recipients = set(
        User.objects.filter(
            agency_code=dossier.handling_agency.code, groups__name=Role.MANAGER, is_active=True
        ).exclude(email="").values_list("email", flat=True)
    )
    if dossier.assignee and dossier.assignee.email:
        recipients.add(dossier.assignee.email)
    recipients.update(settings.OVERDUE_NOTIFY_FALLBACK)
    if not recipients:
        return []
    send_mail(
        subject=_("[Một Cửa] Hồ sơ %(code)s đã quá hạn") % {"code": dossier.code},
        message=_("Hồ sơ %(code)s (%(procedure)s) quá hạn từ %(due)s.")
        % {"code": dossier.code, "procedure": dossier.procedure.name, "due": _fmt(dossier.due_at)},
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=sorted(recipients),
        connection=connection,
    )
    return sorted(recipients)


# --- the notification outbox ------------------------------------------------------------


def notification_queue(
    *, dossier: Dossier, kind: str, at: datetime, transition: DossierTransition | None = None
) -> Notification:
    """Write the email owed for a change in the caller's transaction; it is sent after commit."""
    row = Notification.objects.create(
        dossier=dossier, transition=transition, kind=kind, created_at=at, next_attempt_at=at
    )
    pk = row.pk
    transaction.on_commit(lambda: _delivery_ask(pk), robust=True)
    return row


def _delivery_ask(notification_id: int) -> None:
    """After the commit: with tasks run in the process (no broker), this email is sent now.

    With workers sharing the cache, one sweep is asked for, unless one already is and has not
    started: it will see this row (committed before the mark was checked, and the sweep clears
    the mark before it reads the rows). The sweep runs a moment later
    (`NOTIFICATION_SWEEP_DELAY_SECONDS`), so that the emails of a burst of changes go in one
    task and share one mail connection. The mark lapses on its own, and the periodic sweep
    sends whatever a lost task left."""
    from portal.celery import app

    if app.conf.task_always_eager or not settings.CACHE_SHARED:
        # In the process, or workers that cannot see this process's mark: this email alone.
        effects.task_queue(DELIVER_TASK, notification_id)
        return
    try:
        asked = not cache.add(_SWEEP_ASKED, True, timeout=_SWEEP_ASKED_SECONDS)
    except Exception:  # the cache is down: ask anyway, a spare sweep finds nothing to do
        log.warning("the sweep mark could not be read; queueing a sweep", exc_info=True)
        asked = False
    if not asked and not effects.task_queue(
            SWEEP_TASK, countdown=settings.NOTIFICATION_SWEEP_DELAY_SECONDS):
        with contextlib.suppress(Exception):  # the next change asks again
            cache.delete(_SWEEP_ASKED)


def _claim(notification_id: int, now: datetime) -> Notification | None:
    """Take the row for one attempt: a short lease instead of a lock held while mailing."""
    with transaction.atomic():
        claimed = Notification.objects.filter(
            pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + _LEASE)
        if not claimed:
            return None
    found = _CLAIMED.rows(ids=notification_id)
    return found[0] if found else None


def _claim_due(now: datetime, most: int) -> list[Notification]:
    """Take up to `most` due rows at once (oldest first) for one attempt each, with the same
    lease; rows another sender holds are skipped, not waited for."""
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:most]
        )
        if not ids:
            return []
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=now + _LEASE)
    return list(_with_dossier(Notification.objects.filter(pk__in=ids)).order_by(
        "next_attempt_at", "id"))


def _with_dossier(qs):
    return qs.select_related("transition__dossier__applicant", "transition__dossier__procedure")


# Compiled once per process: every email is read this way before it is sent.
_CLAIMED = Prepared(lambda *, shape, ids: _with_dossier(Notification.objects.filter(pk=ids)),
                    ids=int)


def _backoff(attempts: int) -> timedelta:
    return min(_MAX_BACKOFF, timedelta(minutes=2) * 2 ** max(0, attempts - 1))


def _attempt(row: Notification, now: datetime, connection=None) -> str:
    """Send one claimed row; its outcome (or the failure and the next attempt) is saved on it,
    never raised. Answers the row's status afterwards."""
    try:
        if row.kind == Notification.Kind.TRANSITION:
            delivered = notification_send_transition(transition_id=row.transition_id,
                                                     row=row.transition, connection=connection)
        else:
            delivered = bool(notification_send_overdue(dossier_id=row.dossier_id,
                                                       connection=connection))
    except Exception as exc:  # the mail server is down or refused us: try again later
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= _MAX_ATTEMPTS:
            row.status = Notification.Status.FAILED
            log.error("notification %s given up after %s attempts: %s", row.pk, row.attempts,
                      row.last_error)
        else:
            row.next_attempt_at = now + _backoff(row.attempts)
            log.warning("notification %s not sent (attempt %s): %s", row.pk, row.attempts,
                        row.last_error)
        row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        return row.status
    row.attempts += 1
    row.status = Notification.Status.SENT if delivered else Notification.Status.SKIPPED
    row.sent_at = clock.now() if delivered else None
    row.save(update_fields=["attempts", "status", "sent_at"])
    return row.status


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Send one pending email that is due at `now`; a failure is recorded with its next
    attempt, never raised.

    Answers the row's status afterwards (or "" when the row was not due or not pending)."""
    now = now or clock.now()
    row = _claim(notification_id, now)
    if row is None:
        return ""
    return _attempt(row, now)


def notifications_sweep(*, now: datetime | None = None, limit: int = 500,
                        batch: int = 50) -> int:
    """Deliver the pending emails that are due (after a burst of changes, first attempts whose
    task was lost, retries), `batch` rows claimed at a time and sent over one mail connection,
    at most `limit`; the number sent."""
    # The mark goes first, the time after it: a change that found the mark set committed
    # before this instant, so its row is due at `now`; changes from here on ask again.
    with contextlib.suppress(Exception):
        cache.delete(_SWEEP_ASKED)
    now = now or clock.now()
    mail = get_connection()
    try:
        mail.open()
    except Exception:  # each row records the failure of its own attempt
        log.warning("mail connection not opened for the sweep", exc_info=True)
    sent = handled = 0
    try:
        while handled < limit:
            rows = _claim_due(now, min(batch, limit - handled))
            if not rows:
                break
            handled += len(rows)
            sent += sum(_attempt(row, now, connection=mail) == Notification.Status.SENT
                        for row in rows)
    finally:
        with contextlib.suppress(Exception):
            mail.close()
    return sent

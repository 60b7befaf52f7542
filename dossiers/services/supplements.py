"""Supplement requests: at most as many per dossier as the procedure allows (once, unless it
says more), each with what is missing and a reply deadline; a request left unanswered past its
deadline is handed to whoever the procedure names (reception returns the dossier, or a leader
refuses it), and logged on the dossier's timeline either way."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock

from .. import sla
from ..exceptions import InvalidFormData, SupplementNotAllowed
from ..models import Dossier, Procedure, SupplementRequest
from .audit import transition_log_append

log = logging.getLogger(__name__)

EXPIRED = "supplement_expired"


def supplement_items(text: str) -> list[str]:
    """The numbered things to supply: one per line of the request, list marks dropped."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-•*+").strip()
        head, dot, rest = line.partition(".")
        if dot and head.isdigit() and rest.strip():
            line = rest.strip()
        if line:
            items.append(line)
    return items


def supplement_check_allowed(dossier: Dossier) -> None:
    """Refuse a request beyond the number the procedure allows (409)."""
    allowed = dossier.procedure.supplement_max_requests
    made = SupplementRequest.objects.filter(dossier=dossier).count()
    if made >= allowed:
        raise SupplementNotAllowed(extra={"allowed": allowed, "made": made})


def supplement_reply_by(dossier: Dossier, now: datetime, cal: sla.WorkingCalendar,
                        reply_by: datetime | None) -> datetime:
    """The reply deadline: the officer's, if later than now, else the procedure's time."""
    if reply_by is not None:
        if reply_by <= now:
            raise InvalidFormData(
                _("Hạn bổ sung phải sau thời điểm yêu cầu."),
                extra={"errors": [{"field": "reply_by", "code": "past",
                                   "message": _("Hạn bổ sung phải sau thời điểm yêu cầu.")}]},
            )
        return reply_by
    return sla.due_at(now, dossier.procedure.supplement_reply_days, cal)


def supplement_open(*, dossier: Dossier, actor, now: datetime, reason: str,
                    reply_by: datetime) -> SupplementRequest:
    return SupplementRequest.objects.create(
        dossier=dossier, items=supplement_items(reason), reason=reason, requested_by=actor,
        requested_at=now, reply_by=reply_by,
    )


def supplement_answer(*, dossier: Dossier, now: datetime) -> None:
    SupplementRequest.objects.filter(dossier=dossier, status=SupplementRequest.Status.OPEN) \
        .update(status=SupplementRequest.Status.ANSWERED, answered_at=now)


def supplement_expire_due(*, now: datetime | None = None) -> list[int]:
    """Close every open request whose deadline has passed while the dossier still waits for
    the supplement: its action is the procedure's setting, written on the request and on the
    dossier's timeline; returns the requests closed."""
    now = now or clock.now()
    ids = list(
        SupplementRequest.objects.filter(status=SupplementRequest.Status.OPEN, reply_by__lte=now)
        .values_list("pk", flat=True)[:1000]
    )
    closed = []
    for request_id in ids:
        with transaction.atomic():
            if _expire_one(request_id, now):
                closed.append(request_id)
    return closed


def _expire_one(request_id: int, now: datetime) -> bool:
    from .transitions import dossier_locked

    request = SupplementRequest.objects.filter(pk=request_id).only("dossier_id").first()
    if request is None:
        return False
    dossier = dossier_locked(request.dossier_id)
    request = SupplementRequest.objects.select_for_update().get(pk=request_id)
    if request.status != SupplementRequest.Status.OPEN or request.reply_by > now:
        return False
    if dossier.state != Dossier.State.AWAITING_SUPPLEMENT:
        # Answered or ended some other way: nothing is owed any more.
        request.status = SupplementRequest.Status.ANSWERED
        request.save(update_fields=["status"])
        return False
    action = dossier.procedure.supplement_expiry
    request.status = SupplementRequest.Status.EXPIRED
    request.expired_at = now
    request.expiry_action = action
    request.save(update_fields=["status", "expired_at", "expiry_action"])
    label = Procedure.SupplementExpiry(action).label
    transition_log_append(
        dossier=dossier, name=EXPIRED, from_state=dossier.state, to_state=dossier.state,
        actor=None, actor_label=_("Hệ thống"), at=now,
        reason=_("Quá hạn bổ sung hồ sơ (hạn %(deadline)s): %(action)s.") % {
            "deadline": request.reply_by.astimezone(sla.VN_TZ).strftime("%H:%M %d/%m/%Y"),
            "action": str(label).lower()},
        step=dossier.current_step.code if dossier.current_step_id else "", clock_effect="",
        details={"action": action, "reply_by": request.reply_by.isoformat(),
                 "request": request.pk},
    )
    dossier.save(update_fields=["audit_head", "updated_at"])
    log.info("supplement request %s of dossier %s expired: %s", request.pk, dossier.code, action)
    return True


def supplement_expired_for(dossier: Dossier) -> SupplementRequest | None:
    """The expired request the dossier still waits on an officer for, if any."""
    if dossier.state != Dossier.State.AWAITING_SUPPLEMENT:
        return None
    return (SupplementRequest.objects.filter(dossier=dossier,
                                             status=SupplementRequest.Status.EXPIRED)
            .order_by("-expired_at").first())

"""The apology and new-appointment slip (form 04): drafted by the specialist, approved by a leader."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import clock
from portal.roles import Role

from .. import sla
from ..exceptions import (
    ApologyNotAllowed,
    ApologyWindowClosed,
    DossierNotFound,
    InvalidFormData,
    ReasonRequired,
    TransitionForbidden,
)
from ..models import ApologySlip, Dossier
from .audit import transition_log_append
from .calendars import calendar_for
from .transitions import dossier_locked, effects_queue


def _officer_of(dossier: Dossier, actor, role: str) -> None:
    if not (actor.has_role(*Role.OFFICERS) and actor.agency_code == dossier.handling_agency.code):
        raise DossierNotFound()
    if not actor.has_role(role):
        raise TransitionForbidden()


def _fmt(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def _days_text(days: float) -> str:
    return f"{days:g}".replace(".", ",")


def apology_draft_deadline(dossier: Dossier) -> datetime:
    """The last moment the apology slip may be drafted: `APOLOGY_DRAFT_LEAD_DAYS` working days
    before the due time, counted on the handling agency's calendar."""
    return sla.working_days_before(dossier.due_at, settings.APOLOGY_DRAFT_LEAD_DAYS,
                                   calendar_for(dossier.handling_agency))


@transaction.atomic(durable=True)
def apology_draft(
    *, dossier_id: int, actor, new_appointment_at: datetime, reason: str
) -> ApologySlip:
    """The specialist drafts the slip before the due time passes; once per dossier."""
    if not (reason or "").strip():
        raise ReasonRequired()
    dossier = dossier_locked(dossier_id)
    _officer_of(dossier, actor, Role.SPECIALIST)
    now = clock.now()
    if dossier.state not in Dossier.IN_PROGRESS_STATES or dossier.due_at is None:
        raise ApologyNotAllowed(_("Hồ sơ không còn trong quá trình giải quyết."))
    latest = apology_draft_deadline(dossier)
    if now > latest:
        raise ApologyWindowClosed(
            _("Phiếu xin lỗi phải lập chậm nhất %(days)s ngày làm việc trước thời hạn trả kết "
              "quả, tức là trước %(latest)s (hạn trả kết quả: %(due)s).") % {
                "days": _days_text(settings.APOLOGY_DRAFT_LEAD_DAYS), "latest": _fmt(latest),
                "due": _fmt(dossier.due_at)},
            extra={"due_at": dossier.due_at.isoformat(), "latest": latest.isoformat()},
        )
    if ApologySlip.objects.filter(dossier=dossier).exists():
        raise ApologyNotAllowed(_("Mỗi hồ sơ chỉ được hẹn lại một lần."))
    if new_appointment_at <= dossier.due_at:
        raise InvalidFormData(
            _("Ngày hẹn lại phải sau ngày hẹn trả kết quả ban đầu."),
            extra={"errors": [{"field": "new_appointment_at", "message": "after due_at"}]},
        )
    slip = ApologySlip(
        dossier=dossier, original_due_at=dossier.due_at, new_appointment_at=new_appointment_at,
        reason=reason.strip(), drafted_by=actor,
    )
    slip.full_clean()
    slip.save()
    return slip


@transaction.atomic(durable=True)
def apology_approve(*, dossier_id: int, actor) -> ApologySlip:
    """A leader approves the slip: the applicant is told the new appointment; `due_at` stays."""
    dossier = dossier_locked(dossier_id)
    _officer_of(dossier, actor, Role.LEADER)
    slip = ApologySlip.objects.select_for_update().filter(dossier=dossier).first()
    if slip is None or slip.status != ApologySlip.Status.DRAFT:
        raise ApologyNotAllowed(_("Không có phiếu xin lỗi nào chờ duyệt."))
    if dossier.state not in Dossier.IN_PROGRESS_STATES:
        raise ApologyNotAllowed(_("Hồ sơ không còn trong quá trình giải quyết."))
    now = clock.now()
    if dossier.due_at is None or now >= dossier.due_at:
        raise ApologyWindowClosed(
            _("Phiếu xin lỗi phải được lãnh đạo duyệt trước thời hạn trả kết quả (%(due)s).")
            % {"due": _fmt(dossier.due_at)},
            extra={"due_at": dossier.due_at.isoformat() if dossier.due_at else None},
        )
    slip.status = ApologySlip.Status.APPROVED
    slip.approved_by = actor
    slip.approved_at = now
    slip.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    dossier.new_appointment_at = slip.new_appointment_at
    dossier.version += 1
    log = transition_log_append(
        dossier=dossier, name="reschedule", from_state=dossier.state, to_state=dossier.state,
        actor=actor, actor_label=actor.display_name, at=now, reason=slip.reason,
        step=dossier.current_step.code if dossier.current_step_id else "", clock_effect="",
        details={"due_at": slip.original_due_at.isoformat(),
                 "new_appointment_at": slip.new_appointment_at.isoformat()},
    )
    dossier.save(update_fields=["new_appointment_at", "version", "audit_head", "updated_at"])
    effects_queue(dossier=dossier, log=log, notify=True)
    return slip

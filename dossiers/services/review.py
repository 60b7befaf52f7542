"""Processing after reception: supplements, suspension, steps, proposal, decision, result,
withdrawal; every state change goes through `transitions.transition_run`."""

from collections.abc import Callable
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from django_fsm import can_proceed

from portal.prepared import Prepared
from portal.roles import Role
from signatures.services import SignedResult, issued_document_discard

from .. import sla
from ..exceptions import DossierNotFound, InvalidFormData
from ..models import ClockInterval, Dossier, Procedure, Result, SupplementRequest
from .indicators import summary_add
from .signing import result_sign_for
from .steps import step_close, step_enter, step_first
from .supplements import (
    supplement_answer,
    supplement_check_allowed,
    supplement_open,
    supplement_reply_by,
)
from .transitions import (
    SPECS,
    Move,
    check_move,
    condition_failure,
    dossier_id_checked,
    reason_clean,
    steps_prefetch,
    transition_run,
)
from .workflow import SUBMISSION_PREFETCH

STEP_PREFETCH = (steps_prefetch,)

# --- the clock: pauses and resumes ---------------------------------------------------


def _pause(kind: str, policy: str) -> Callable[[Move], None]:
    def after(move: Move) -> None:
        ClockInterval.objects.create(
            dossier=move.dossier, kind=kind, policy=policy, started_at=move.now,
            reason=move.reason,
        )
        move.details["due_at"] = move.dossier.due_at.isoformat()

    return after


def _pause_close(move: Move) -> ClockInterval | None:
    """End the open pause at `move.now`, recording the working minutes it lasted."""
    pause = ClockInterval.objects.select_for_update().filter(
        dossier=move.dossier, ended_at__isnull=True
    ).first()
    if pause is None:
        return None
    pause.ended_at = move.now
    pause.working_minutes = max(
        0, int(move.calendar.working_minutes_between(pause.started_at, move.now))
    )
    pause.save(update_fields=["ended_at", "working_minutes"])
    move.details["paused_working_minutes"] = pause.working_minutes
    return pause


def _resume_prepare(move: Move) -> dict:
    """The due time after a pause: shifted by the paused working time, or restarted."""
    dossier, cal = move.dossier, move.calendar
    pause = _pause_close(move)
    if pause.policy == Procedure.SupplementClock.RESTART:
        due = sla.restart_due(
            move.now, dossier.procedure.processing_days, cal, kind=dossier.procedure.duration_kind
        )
        move.clock_effect = "restart"
    else:
        due = sla.shift_due_for_pause(dossier.due_at, pause.started_at, move.now, cal)
    if dossier.step_due_at:
        dossier.step_due_at = sla.shift_due_for_pause(
            dossier.step_due_at, pause.started_at, move.now, cal
        )
    if due > move.now:
        # Due again in the future: a second overdue spell is flagged and notified again.
        dossier.overdue_notified_at = None
    move.details["due_at"] = due.isoformat()
    return {"due_at": due, "due_soon_at": sla.due_soon_from(due, cal)}


@transaction.atomic(durable=True)
def dossier_request_supplement(
    *, dossier_id: int, actor, reason: str, version: int | None = None,
    reply_by: datetime | None = None,
) -> Dossier:
    """The specialist asks for a supplement (form 02): what is missing (one line each, with
    why) and by when (`reply_by`, or the procedure's reply time); at most as many times as the
    procedure allows. The clock pauses or will restart."""
    policy = Procedure.objects.filter(dossiers=dossier_id).values_list(
        "supplement_clock", flat=True
    ).first()
    pause = _pause(ClockInterval.Kind.SUPPLEMENT, policy or Procedure.SupplementClock.PAUSE)
    deadline = {}

    def prepare(move: Move) -> dict:
        supplement_check_allowed(move.dossier)
        deadline["at"] = supplement_reply_by(move.dossier, move.now, move.calendar, reply_by)
        return {}

    def after(move: Move) -> None:
        pause(move)
        supplement_open(dossier=move.dossier, actor=move.actor, now=move.now,
                        reason=move.reason, reply_by=deadline["at"])
        move.details["reply_by"] = deadline["at"].isoformat()

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="request_supplement", reason=reason,
        version=version, prepare=prepare, after=after,
    )


@transaction.atomic(durable=True)
def dossier_supply(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """The applicant answers the supplement request; the submission checks apply again, and the
    clock resumes or restarts."""

    def after(move: Move) -> None:
        supplement_answer(dossier=move.dossier, now=move.now)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="supply", version=version,
        prepare=_resume_prepare, after=after, prefetch=SUBMISSION_PREFETCH,
    )


@transaction.atomic(durable=True)
def dossier_suspend(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The specialist suspends processing with a reason; the clock pauses."""
    return transition_run(
        dossier_id=dossier_id, actor=actor, name="suspend", reason=reason, version=version,
        after=_pause(ClockInterval.Kind.SUSPENSION, Procedure.SupplementClock.PAUSE),
    )


@transaction.atomic(durable=True)
def dossier_resume(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Processing resumes; the paused working time is added to the due time."""
    return transition_run(
        dossier_id=dossier_id, actor=actor, name="resume", version=version,
        prepare=_resume_prepare,
    )


# --- steps, proposal and decision ----------------------------------------------------


def _step_record(move: Move) -> None:
    step = move.dossier.current_step
    move.details["step"] = step.code if step else ""
    if move.dossier.step_due_at:
        move.details["step_due_at"] = move.dossier.step_due_at.isoformat()


@transaction.atomic(durable=True)
def dossier_advance_step(
    *, dossier_id: int, actor, reason: str = "", version: int | None = None
) -> Dossier:
    """The officer of the current step hands over to the next step of the same role."""

    def after(move: Move) -> None:
        step_enter(move.dossier, move.dossier.next_step, move.now, move.calendar)
        _step_record(move)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="advance_step", reason=reason,
        version=version, after=after, prefetch=STEP_PREFETCH,
    )


@transaction.atomic(durable=True)
def dossier_propose(
    *, dossier_id: int, actor, reason: str = "", version: int | None = None
) -> Dossier:
    """The specialist of the last review step proposes a decision to the leader."""

    def after(move: Move) -> None:
        step_enter(move.dossier, move.dossier.next_step or step_first(move.dossier, Role.LEADER),
                   move.now, move.calendar)
        _step_record(move)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="propose", reason=reason, version=version,
        after=after, prefetch=STEP_PREFETCH,
    )


@transaction.atomic(durable=True)
def dossier_send_back(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """The leader sends the dossier back to the last review step for rework."""

    def after(move: Move) -> None:
        dossier = move.dossier
        before = dossier.current_step.order if dossier.current_step_id else None
        step_enter(dossier, step_first(dossier, Role.SPECIALIST, before=before), move.now,
                   move.calendar)
        _step_record(move)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="send_back", reason=reason, version=version,
        after=after, prefetch=STEP_PREFETCH,
    )


@transaction.atomic(durable=True)
def dossier_approve(
    *, dossier_id: int, actor, reason: str = "", version: int | None = None
) -> Dossier:
    """The leader of the last approval step approves; the result is then issued."""

    def after(move: Move) -> None:
        step_close(move.dossier)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="approve", reason=reason, version=version,
        after=after, prefetch=STEP_PREFETCH,
    )


# --- completion: refusal and result, signed outside the transaction -------------------


def _completion(move: Move) -> dict:
    return {"outcome": sla.outcome(move.now, move.dossier.due_at, move.calendar,
                                   rule=move.dossier.handling_agency.outcome_rule)}


# Compiled once per process: each result and refusal is checked on this read first, and its
# paper is then written from the same read.
_PRECHECK = Prepared(
    lambda *, shape, dossier_id: Dossier.objects.select_related(
        "procedure", "handling_agency", "applicant").filter(pk=dossier_id),
    dossier_id=int)


def _precheck(dossier_id: int, actor, name: str, version: int | None) -> Dossier:
    """The transition's own checks, read without the lock, before any signing work; the
    dossier as read (with what its signed paper prints)."""
    found = _PRECHECK.rows(dossier_id=dossier_id_checked(dossier_id))
    if not found:
        raise DossierNotFound()
    check_move(found[0], name=name, actor=actor, version=version)
    return found[0]


class _Issuing:
    """The files an issuing transaction stored, and whether that transaction committed."""

    def __init__(self, signed: SignedResult | None) -> None:
        self.signed = signed
        self.stored: list[str] = []
        self.committed = False

    def store(self, result: Result) -> None:
        """Attach the signed file to the result; called inside the transaction."""
        transaction.on_commit(self._mark_committed)
        if self.signed is None:
            return
        result.file.save(f"ket-qua-{result.dossier.code}.pdf", ContentFile(self.signed.content),
                         save=False)
        self.stored.append(result.file.name)
        result.sha256 = self.signed.sha256
        result.signed = True

    def _mark_committed(self) -> None:
        self.committed = True

    def run(self, commit: Callable[["_Issuing"], Dossier]) -> Dossier:
        """Run the issuing transaction; only if nothing committed do the signed file and its
        registration go."""
        try:
            return commit(self)
        except BaseException:
            if not self.committed:
                for name in self.stored:
                    default_storage.delete(name)
                if self.signed is not None:
                    issued_document_discard(sha256=self.signed.sha256)
            raise


def dossier_refuse(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The leader refuses the request with a signed notice; the clock stops, the outcome is
    recorded."""
    reason = reason_clean(SPECS["refuse"], reason)
    dossier = _precheck(dossier_id, actor, "refuse", version)
    signed = result_sign_for(dossier=dossier, actor=actor, kind=Result.Kind.REFUSAL,
                             number="", reason=reason)
    return _Issuing(signed).run(lambda issuing: _refuse(
        dossier_id=dossier_id, actor=actor, reason=reason, version=version, issuing=issuing))


# --- a supplement left unanswered past its deadline --------------------------------------


def _unanswered_precheck(dossier_id: int, actor, name: str, version: int | None) -> Dossier:
    """The move's checks, read without the lock: state, role, then the deadline and the
    procedure's action (each refusal with its own code)."""
    dossier = _precheck(dossier_id, actor, name, version)
    if not can_proceed(getattr(dossier, name)):
        raise condition_failure(dossier, name)
    return dossier


def _unanswered_pause_close(move: Move) -> None:
    """End the supplement pause at the reply deadline: the applicant's time is not counted
    against the agency, the time the agency then takes to act is. The request is closed as
    expired (if the daily run has not marked it yet)."""
    request = move.dossier.supplement_lapsed
    ended = min(request.reply_by, move.now)
    pause = ClockInterval.objects.select_for_update().filter(
        dossier=move.dossier, ended_at__isnull=True).first()
    if pause is not None:
        pause.ended_at = max(ended, pause.started_at)
        pause.working_minutes = max(
            0, int(move.calendar.working_minutes_between(pause.started_at, pause.ended_at)))
        pause.save(update_fields=["ended_at", "working_minutes"])
        move.details["paused_working_minutes"] = pause.working_minutes
        move.details["pause"] = pause
    if request.status == SupplementRequest.Status.OPEN:
        request.status = SupplementRequest.Status.EXPIRED
        request.expired_at = move.now
        request.expiry_action = move.dossier.procedure.supplement_expiry
        request.save(update_fields=["status", "expired_at", "expiry_action"])
    move.details["request"] = request.pk
    move.details["reply_by"] = request.reply_by.isoformat()


def _unanswered_reason(dossier: Dossier, reason: str) -> str:
    """The officer's reason, else what was asked for and never supplied (the notice and the
    timeline say it; printed in Vietnamese like the papers)."""
    reason = (reason or "").strip()
    if reason:
        return reason
    request = dossier.supplement_lapsed
    items = "; ".join(request.items) if request and request.items else ""
    deadline = request.reply_by.astimezone(sla.VN_TZ).strftime("%H:%M %d/%m/%Y") if request \
        else ""
    with translation.override("vi"):
        text = _("Người nộp không bổ sung hồ sơ trong thời hạn (hạn bổ sung %(deadline)s).") % {
            "deadline": deadline}
        if items:
            text += " " + _("Nội dung cần bổ sung: %(items)s.") % {"items": items.rstrip(".")}
    return text


@transaction.atomic(durable=True)
def dossier_return_unanswered(*, dossier_id: int, actor, reason: str = "",
                              version: int | None = None) -> Dossier:
    """Reception returns the dossier whose supplement never came, as the procedure says: the
    dossier ends without a decision and without an outcome; form 02 lists what was missing."""
    dossier = _unanswered_precheck(dossier_id, actor, "return_unanswered", version)
    reason = _unanswered_reason(dossier, reason)

    def after(move: Move) -> None:
        _unanswered_pause_close(move)
        move.details.pop("pause", None)
        step_close(move.dossier)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="return_unanswered", reason=reason,
        version=version, after=after,
    )


def dossier_refuse_unanswered(*, dossier_id: int, actor, reason: str = "",
                              version: int | None = None) -> Dossier:
    """The leader refuses the dossier whose supplement never came, as the procedure says,
    with the signed refusal notice; the outcome counts against the due time shifted by the
    applicant's time to reply."""
    dossier = _unanswered_precheck(dossier_id, actor, "refuse_unanswered", version)
    reason = _unanswered_reason(dossier, reason)
    signed = result_sign_for(dossier=dossier, actor=actor, kind=Result.Kind.REFUSAL,
                             number="", reason=reason)
    return _Issuing(signed).run(lambda issuing: _refuse(
        dossier_id=dossier_id, actor=actor, reason=reason, version=version, issuing=issuing,
        name="refuse_unanswered", prepare=_unanswered_completion))


def _unanswered_completion(move: Move) -> dict:
    _unanswered_pause_close(move)
    pause = move.details.pop("pause", None)
    due = move.dossier.due_at
    if pause is not None:
        due = sla.shift_due_for_pause(due, pause.started_at, pause.ended_at, move.calendar)
    move.details["due_at"] = due.isoformat()
    return {"due_at": due, "outcome": sla.outcome(
        move.now, due, move.calendar, rule=move.dossier.handling_agency.outcome_rule)}


@transaction.atomic(durable=True)
def _refuse(*, dossier_id: int, actor, reason: str, version: int | None,
            issuing: _Issuing, name: str = "refuse",
            prepare: Callable[[Move], dict] = _completion) -> Dossier:
    def after(move: Move) -> None:
        dossier = move.dossier
        step_close(dossier)
        result = Result(dossier=dossier, kind=Result.Kind.REFUSAL, issued_at=move.now)
        issuing.store(result)
        result.save()
        summary_add(
            dossier=dossier, at=move.now, completed=1, refused=1, results_electronic=1,
            **{dossier.outcome: 1},
        )
        move.details["outcome"] = dossier.outcome

    return transition_run(
        dossier_id=dossier_id, actor=actor, name=name, reason=reason, version=version,
        prepare=prepare, after=after,
    )


def dossier_issue_result(
    *, dossier_id: int, actor, kind: str = Result.Kind.LICENCE, number: str = "",
    electronic: bool = True, version: int | None = None,
) -> Dossier:
    """The result is issued, signed by the agency when electronic; the clock stops and the
    outcome is recorded."""
    if kind not in Result.Kind.values:
        raise InvalidFormData(extra={"errors": [{"field": "kind", "message": "unknown kind"}]})
    dossier = _precheck(dossier_id, actor, "issue_result", version)
    signed = (result_sign_for(dossier=dossier, actor=actor, kind=kind, number=number)
              if electronic else None)
    return _Issuing(signed).run(lambda issuing: _issue_result(
        dossier_id=dossier_id, actor=actor, kind=kind, number=number, electronic=electronic,
        version=version, issuing=issuing))


@transaction.atomic(durable=True)
def _issue_result(
    *, dossier_id: int, actor, kind: str, number: str, electronic: bool, version: int | None,
    issuing: _Issuing,
) -> Dossier:
    def after(move: Move) -> None:
        dossier = move.dossier
        step_close(dossier)
        result = Result(dossier=dossier, kind=kind, number=number, electronic=electronic,
                        issued_at=move.now)
        issuing.store(result)
        result.save()
        summary_add(
            dossier=dossier, at=move.now, completed=1, results_electronic=int(electronic),
            **{dossier.outcome: 1},
        )
        move.details.update(outcome=dossier.outcome, number=number,
                            sha256=issuing.signed.sha256 if issuing.signed else "")

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="issue_result", version=version,
        prepare=_completion, after=after,
    )


@transaction.atomic(durable=True)
def dossier_return_result(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """The result is handed to the applicant (at the counter or online), at the handling
    agency's desk or at the desk that took the dossier; the log says which desk."""

    def after(move: Move) -> None:
        dossier = move.dossier
        desk = next((a for a in (dossier.handling_agency, dossier.reception_agency)
                     if a.code == getattr(actor, "agency_code", None)), None)
        if desk is not None:
            move.details.update(desk=desk.code, desk_name=desk.name)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="return_result", version=version,
        after=after, prefetch=("payments",),
    )


@transaction.atomic(durable=True)
def dossier_withdraw(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The applicant withdraws an open dossier; it is not counted in the on-time rate. A pause in
    progress ends with its working minutes recorded."""

    def after(move: Move) -> None:
        _pause_close(move)
        step_close(move.dossier)
        if move.dossier.received_at:
            summary_add(dossier=move.dossier, at=move.now, withdrawn=1)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="withdraw", reason=reason, version=version,
        after=after,
    )

"""Processing after reception: supplements, suspension, proposal, decision, result, withdrawal."""

from collections.abc import Callable
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from portal.roles import Role
from signatures.services import SignedResult, issued_document_discard

from .. import sla
from ..exceptions import (
    DossierNotFound,
    InvalidFormData,
    ReasonRequired,
)
from ..models import ClockInterval, Dossier, Procedure, Result
from .indicators import summary_add
from .signing import result_sign_for
from .workflow import _enter_step, _transition, calendar_for, check_move

# --- processing ----------------------------------------------------------------------


def _pause(kind: str, policy: str) -> Callable[[Dossier, datetime], dict]:
    def after(dossier: Dossier, now: datetime) -> dict:
        ClockInterval.objects.create(
            dossier=dossier, kind=kind, policy=policy, started_at=now, reason=dossier.reason
        )
        return {"due_at": dossier.due_at.isoformat()}

    return after


def _resume_prepare(dossier: Dossier, now: datetime, holder: dict) -> dict:
    cal = holder["cal"] = calendar_for(dossier.handling_agency)
    pause = ClockInterval.objects.select_for_update().get(dossier=dossier, ended_at__isnull=True)
    minutes = cal.working_minutes_between(pause.started_at, now)
    pause.ended_at = now
    pause.working_minutes = max(0, int(minutes))
    pause.save(update_fields=["ended_at", "working_minutes"])
    if pause.policy == "restart":
        due = sla.restart_due(
            now, dossier.procedure.processing_days, cal, kind=dossier.procedure.duration_kind
        )
        holder["effect"] = "restart"
    else:
        due = sla.shift_due_for_pause(dossier.due_at, pause.started_at, now, cal)
        holder["effect"] = "resume"
    if dossier.step_due_at:
        holder["step_due_at"] = sla.shift_due_for_pause(
            dossier.step_due_at, pause.started_at, now, cal
        )
    holder["minutes"] = pause.working_minutes
    return {"due_at": due, "due_soon_at": sla.due_soon_from(due, cal)}


def _resume_after(dossier: Dossier, now: datetime, holder: dict) -> dict:
    if "step_due_at" in holder:
        dossier.step_due_at = holder["step_due_at"]
    return {"due_at": dossier.due_at.isoformat(), "paused_working_minutes": holder["minutes"]}


@transaction.atomic(durable=True)
def dossier_request_supplement(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """The specialist asks for a supplement (form 02); the clock pauses or will restart."""
    policy = Procedure.objects.filter(dossiers=dossier_id).values_list(
        "supplement_clock", flat=True
    ).first()
    return _transition(
        dossier_id=dossier_id, actor=actor, name="request_supplement", reason=reason,
        require_reason=True, version=version, clock_effect="pause",
        after=_pause(ClockInterval.Kind.SUPPLEMENT, policy or "pause"),
    )


@transaction.atomic(durable=True)
def dossier_supply(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """The applicant answers the supplement request; the clock resumes or restarts."""
    holder: dict = {}
    return _transition(
        dossier_id=dossier_id, actor=actor, name="supply", version=version,
        prepare=lambda d, now: _resume_prepare(d, now, holder),
        after=lambda d, now: _resume_after(d, now, holder), clock_effect="resume",
    )


@transaction.atomic(durable=True)
def dossier_suspend(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The specialist suspends processing with a reason; the clock pauses."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="suspend", reason=reason, require_reason=True,
        version=version, clock_effect="pause",
        after=_pause(ClockInterval.Kind.SUSPENSION, "pause"),
    )


@transaction.atomic(durable=True)
def dossier_resume(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Processing resumes; the paused working time is added to the due time."""
    holder: dict = {}
    return _transition(
        dossier_id=dossier_id, actor=actor, name="resume", version=version,
        prepare=lambda d, now: _resume_prepare(d, now, holder),
        after=lambda d, now: _resume_after(d, now, holder), clock_effect="resume",
    )


def _step_change(role: str):
    def after(dossier: Dossier, now: datetime) -> dict:
        _enter_step(dossier, role, now, calendar_for(dossier.handling_agency))
        return {"step": dossier.current_step.code if dossier.current_step else ""}

    return after


@transaction.atomic(durable=True)
def dossier_propose(
    *, dossier_id: int, actor, reason: str = "", version: int | None = None
) -> Dossier:
    """The specialist proposes a decision to the leader."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="propose", reason=reason, version=version,
        after=_step_change(Role.LEADER), clock_effect="step",
    )


@transaction.atomic(durable=True)
def dossier_send_back(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """The leader sends the dossier back to the specialist for rework."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="send_back", reason=reason,
        require_reason=True, version=version, after=_step_change(Role.SPECIALIST),
        clock_effect="step",
    )


@transaction.atomic(durable=True)
def dossier_approve(
    *, dossier_id: int, actor, reason: str = "", version: int | None = None
) -> Dossier:
    """The leader approves; the result is then issued."""

    def after(dossier: Dossier, now: datetime) -> dict:
        dossier.current_step = None
        dossier.step_due_at = None
        return {}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="approve", reason=reason, version=version,
        after=after, clock_effect="step",
    )


def _completion(dossier: Dossier, now: datetime) -> dict:
    return {"outcome": sla.outcome(now, dossier.due_at, calendar_for(dossier.handling_agency))}


def _close_step(dossier: Dossier) -> None:
    dossier.current_step = None
    dossier.step_due_at = None


def _precheck(dossier_id: int, actor, name: str, version: int | None) -> None:
    """The transition's own checks, read without the lock, before any signing work."""
    dossier = Dossier.objects.select_related("handling_agency").filter(pk=dossier_id).first()
    if dossier is None:
        raise DossierNotFound()
    check_move(dossier, name=name, actor=actor, version=version)


def _store_signed(result: Result, signed: SignedResult | None, stored: list[str]) -> None:
    if signed is None:
        return
    result.file.save(f"ket-qua-{result.dossier.code}.pdf", ContentFile(signed.content),
                     save=False)
    stored.append(result.file.name)
    result.sha256 = signed.sha256
    result.signed = True


def _with_signed(signed: SignedResult | None, commit):
    """Run the issuing transaction; if it fails, the signed file and its registration go."""
    stored: list[str] = []
    try:
        return commit(stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        if signed is not None:
            issued_document_discard(sha256=signed.sha256)
        raise


def dossier_refuse(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The leader refuses the request with a signed notice; the clock stops, the outcome is
    recorded."""
    if not (reason or "").strip():
        raise ReasonRequired()
    _precheck(dossier_id, actor, "refuse", version)
    signed = result_sign_for(dossier_id=dossier_id, actor=actor, kind=Result.Kind.REFUSAL,
                             number="", reason=reason)
    return _with_signed(signed, lambda stored: _refuse(
        dossier_id=dossier_id, actor=actor, reason=reason, version=version, signed=signed,
        stored=stored))


@transaction.atomic(durable=True)
def _refuse(*, dossier_id: int, actor, reason: str, version: int | None,
            signed: SignedResult | None, stored: list[str]) -> Dossier:
    def after(dossier: Dossier, now: datetime) -> dict:
        _close_step(dossier)
        result = Result(dossier=dossier, kind=Result.Kind.REFUSAL, issued_at=now)
        _store_signed(result, signed, stored)
        result.save()
        summary_add(
            dossier=dossier, at=now, completed=1, refused=1, results_electronic=1,
            **{dossier.outcome: 1},
        )
        return {"outcome": dossier.outcome}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="refuse", reason=reason, require_reason=True,
        version=version, prepare=_completion, after=after, clock_effect="stop",
    )


def dossier_issue_result(
    *, dossier_id: int, actor, kind: str = Result.Kind.LICENCE, number: str = "",
    electronic: bool = True, version: int | None = None,
) -> Dossier:
    """The result is issued, signed by the agency when electronic; the clock stops and the
    outcome is recorded."""
    if kind not in Result.Kind.values:
        raise InvalidFormData(extra={"errors": [{"field": "kind", "message": "unknown kind"}]})
    _precheck(dossier_id, actor, "issue_result", version)
    signed = (result_sign_for(dossier_id=dossier_id, actor=actor, kind=kind, number=number)
              if electronic else None)
    return _with_signed(signed, lambda stored: _issue_result(
        dossier_id=dossier_id, actor=actor, kind=kind, number=number, electronic=electronic,
        version=version, signed=signed, stored=stored))


@transaction.atomic(durable=True)
def _issue_result(
    *, dossier_id: int, actor, kind: str, number: str, electronic: bool, version: int | None,
    signed: SignedResult | None, stored: list[str],
) -> Dossier:
    def after(dossier: Dossier, now: datetime) -> dict:
        _close_step(dossier)
        result = Result(dossier=dossier, kind=kind, number=number, electronic=electronic,
                        issued_at=now)
        _store_signed(result, signed, stored)
        result.save()
        summary_add(
            dossier=dossier, at=now, completed=1, results_electronic=int(electronic),
            **{dossier.outcome: 1},
        )
        return {"outcome": dossier.outcome, "number": number,
                "sha256": signed.sha256 if signed else ""}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="issue_result", version=version,
        prepare=_completion, after=after, clock_effect="stop",
    )


@transaction.atomic(durable=True)
def dossier_return_result(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """The result is handed to the applicant (at the counter or online)."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="return_result", version=version,
        prefetch=("payments",),
    )


@transaction.atomic(durable=True)
def dossier_withdraw(*, dossier_id: int, actor, reason: str, version: int | None = None) -> Dossier:
    """The applicant withdraws an open dossier; it is not counted in the on-time rate."""

    def after(dossier: Dossier, now: datetime) -> dict:
        ClockInterval.objects.filter(dossier=dossier, ended_at__isnull=True).update(ended_at=now)
        _close_step(dossier)
        if dossier.received_at:
            summary_add(dossier=dossier, at=now, withdrawn=1)
        return {}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="withdraw", reason=reason, require_reason=True,
        version=version, after=after, clock_effect="stop",
    )

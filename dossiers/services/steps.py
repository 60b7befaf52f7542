"""Process steps: which step a dossier is in, and its own due time."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.prepared import Prepared

from .. import sla
from ..models import Dossier, ProcessStep, StepRecord

# Compiled once per process: every move that enters or leaves a step reads its open row.
_OPEN_ROW = Prepared(
    lambda *, shape, dossier_id: StepRecord.objects.select_related("step", "taken_by").filter(
        dossier_id=dossier_id, ended_at__isnull=True).order_by("pk"),
    dossier_id=int)


def _open_row(dossier: Dossier) -> StepRecord | None:
    found = _OPEN_ROW.rows(dossier_id=dossier.pk)
    return found[0] if found else None


def step_first(dossier: Dossier, role: str, *, before: int | None = None) -> ProcessStep | None:
    """The first step of `role` in the procedure's order (the last one before `before`, when
    given: where a leader sends a dossier back to)."""
    steps = sorted(dossier.procedure.steps.all(), key=lambda s: s.order)
    if before is not None:
        earlier = [s for s in steps if s.role == role and s.order < before]
        return earlier[-1] if earlier else None
    return next((s for s in steps if s.role == role), None)


def step_enter(
    dossier: Dossier, step: ProcessStep | None, now: datetime, cal: sla.WorkingCalendar
) -> None:
    """Put the dossier in `step` from `now`: its due time counts the step's budget the way the
    procedure counts its legal time (working or calendar days)."""
    dossier.current_step = step
    dossier.step_started_at = now if step else None
    dossier.step_due_at = (
        sla.due_at(now, step.budget_days, cal, kind=dossier.procedure.duration_kind)
        if step else None
    )


def step_close(dossier: Dossier) -> None:
    dossier.current_step = None
    dossier.step_started_at = None
    dossier.step_due_at = None


# --- the step history (form 05) ----------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    """Where a dossier stood in its steps before a move: compared with after it."""

    step_id: int | None
    started_at: datetime | None
    due_at: datetime | None

    @classmethod
    def of(cls, dossier: Dossier) -> "StepState":
        return cls(dossier.current_step_id, dossier.step_started_at, dossier.step_due_at)


def _taker(record: StepRecord, actor):
    """Who worked the step: the officer recorded when it was taken, else the one who ends it
    if the step is theirs to work (an applicant withdrawing does not take the step)."""
    if record.taken_by_id:
        return record.taken_by
    role = record.step.role
    if actor is not None and getattr(actor, "has_role", None) and actor.has_role(role):
        return actor
    return None


def step_history_record(*, dossier: Dossier, before: StepState, actor, now: datetime,
                        calendar: Callable[[], sla.WorkingCalendar]) -> None:
    """Keep the step history in line with the move just made: the step left is closed with
    its outcome against its own due time; the step entered is opened with the one who handed
    it over; a due time moved by a pause follows onto the open row. `calendar` is only called
    when a step ends (it costs queries)."""
    after = StepState.of(dossier)
    if after == before:
        return
    entered = (after.step_id != before.step_id or after.started_at != before.started_at)
    open_row = _open_row(dossier)
    if not entered:
        if open_row is not None and after.due_at != open_row.due_at:
            open_row.due_at = after.due_at
            open_row.save(update_fields=["due_at"])
        return
    if open_row is not None:
        open_row.ended_at = now
        open_row.taken_by = _taker(open_row, actor)
        open_row.outcome = sla.outcome(now, open_row.due_at, calendar()) if open_row.due_at else ""
        open_row.save(update_fields=["ended_at", "taken_by", "outcome"])
    if after.step_id is not None:
        StepRecord.objects.create(
            dossier=dossier, step_id=after.step_id, handed_by=actor,
            started_at=after.started_at or now, due_at=after.due_at,
        )


def step_take(*, dossier: Dossier, officer) -> None:
    """The officer who claims (or is assigned) the dossier takes its open step, if it is a
    step of their role."""
    open_row = _open_row(dossier)
    if open_row is not None and officer.has_role(open_row.step.role):
        open_row.taken_by = officer
        open_row.save(update_fields=["taken_by"])

"""Process steps: which step a dossier is in, and its own due time."""

from datetime import datetime

from .. import sla
from ..models import Dossier, ProcessStep


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

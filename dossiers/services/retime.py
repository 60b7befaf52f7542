"""A day off corrected after the fact: open dossiers re-timed, completed ones reported.

When the government announces a swap late, or the `holidays` package was wrong, the days an
administrator corrects change due times already given. Each dossier's due time is rebuilt from
its history (reception, then each pause, shifted or restarted) on the calendar as it was and
as it is: a dossier whose history gives its recorded due time on the old calendar, and another
on the new one, is moved, logged on its timeline with the reason, pushed to the portals and
its applicant told; one whose history does not give its recorded due time is listed, never
guessed at. Completed dossiers keep their recorded outcome; the report lists those the
correction would have changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q

from portal import clock

from .. import sla
from ..models import Agency, ClockInterval, Dossier, Procedure
from .audit import transition_log_append
from .calendars import calendar_for
from .steps import StepState, step_history_record
from .transitions import dossier_locked, effects_queue

RETIME = "retime"
MAX_DAYS = 31  # one correction names a handful of days; a month at most


@dataclass(frozen=True)
class Retiming:
    dossier_id: int
    code: str
    due_at: datetime
    new_due_at: datetime
    step_due_at: datetime | None
    new_step_due_at: datetime | None


@dataclass(frozen=True)
class Unrebuilt:
    """A dossier whose history does not give its recorded due time: left for a person."""

    dossier_id: int
    code: str
    due_at: datetime
    rebuilt: datetime | None


@dataclass(frozen=True)
class OutcomeChange:
    dossier_id: int
    code: str
    completed_at: datetime
    due_at: datetime
    new_due_at: datetime
    outcome: str
    new_outcome: str


@dataclass
class RetimePlan:
    days: tuple[date, ...]
    moves: list[Retiming]
    unrebuilt: list[Unrebuilt]
    outcomes: list[OutcomeChange]


def _days_clean(days: Iterable[date]) -> tuple[date, ...]:
    cleaned = tuple(sorted(set(days)))
    if not cleaned:
        raise ValueError("Cần ít nhất một ngày đã điều chỉnh.")
    if len(cleaned) > MAX_DAYS:
        raise ValueError(f"Mỗi lần điều chỉnh tối đa {MAX_DAYS} ngày.")
    return cleaned


def calendar_before(agency: Agency, days: tuple[date, ...]) -> sla.WorkingCalendar:
    """The agency's calendar as it was before `days` changed: each of them the other way."""
    now_cal = calendar_for(agency)
    off, extra = set(now_cal.extra_days_off), set(now_cal.extra_working_days)
    for day in days:
        off.discard(day)
        extra.discard(day)
        (off if now_cal.is_working_day(day) else extra).add(day)
    return sla.WorkingCalendar(
        sessions=now_cal.sessions, seasons=now_cal.seasons, extra_days_off=off,
        extra_working_days=extra,
    )


def due_rebuilt(
    dossier: Dossier, pauses: list[ClockInterval], cal: sla.WorkingCalendar
) -> tuple[datetime, datetime | None] | None:
    """The dossier's due time and its step's, from its reception and its ended pauses."""
    if dossier.received_at is None:
        return None
    procedure = dossier.procedure
    days, kind = procedure.processing_days, procedure.duration_kind
    due = sla.due_at(dossier.received_at, days, cal, kind=kind)
    step_due = None
    step = dossier.current_step
    if step is not None and dossier.step_started_at is not None:
        step_due = sla.due_at(dossier.step_started_at, step.budget_days, cal, kind=kind)
    for pause in sorted(pauses, key=lambda p: p.started_at):
        if pause.ended_at is None:
            break  # the due time stands still until the pause ends
        if pause.policy == Procedure.SupplementClock.RESTART:
            due = sla.restart_due(pause.ended_at, days, cal, kind=kind)
        else:
            due = sla.shift_due_for_pause(due, pause.started_at, pause.ended_at, cal)
        if step_due is not None and pause.started_at >= dossier.step_started_at:
            step_due = sla.shift_due_for_pause(step_due, pause.started_at, pause.ended_at, cal)
    return due, step_due


def _window(days: tuple[date, ...]) -> tuple[datetime, datetime]:
    first = datetime.combine(days[0], time.min, tzinfo=sla.VN_TZ)
    last = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=sla.VN_TZ)
    return first, last


def retime_plan(*, days: Iterable[date]) -> RetimePlan:
    """What correcting `days` changes; nothing is written."""
    days = _days_clean(days)
    first, last = _window(days)
    touched = Q(received_at__lt=last) & (Q(due_at__gte=first) | Q(completed_at__gte=first))
    dossiers = (
        Dossier.objects.filter(touched, received_at__isnull=False, due_at__isnull=False)
        .filter(Q(state__in=Dossier.IN_PROGRESS_STATES) | Q(completed_at__isnull=False))
        .select_related("procedure", "handling_agency", "current_step")
        .prefetch_related("pauses")
        .order_by("handling_agency_id", "id")
    )
    plan = RetimePlan(days=days, moves=[], unrebuilt=[], outcomes=[])
    calendars: dict[int, tuple[sla.WorkingCalendar, sla.WorkingCalendar]] = {}
    for dossier in dossiers.iterator(chunk_size=500):
        agency = dossier.handling_agency
        if agency.pk not in calendars:
            calendars[agency.pk] = (calendar_before(agency, days), calendar_for(agency))
        before, after = calendars[agency.pk]
        pauses = list(dossier.pauses.all())
        old = due_rebuilt(dossier, pauses, before)
        if old is None or old[0] != dossier.due_at:
            if dossier.completed_at is None:
                plan.unrebuilt.append(Unrebuilt(dossier.pk, dossier.code or "", dossier.due_at,
                                                old[0] if old else None))
            continue
        new_due, new_step_due = due_rebuilt(dossier, pauses, after)
        if dossier.completed_at is not None:
            if new_due != dossier.due_at and dossier.outcome:
                new_outcome = sla.outcome(dossier.completed_at, new_due, after)
                if new_outcome != dossier.outcome:
                    plan.outcomes.append(OutcomeChange(
                        dossier.pk, dossier.code or "", dossier.completed_at, dossier.due_at,
                        new_due, dossier.outcome, new_outcome,
                    ))
            continue
        step_due = dossier.step_due_at if old[1] == dossier.step_due_at else None
        if new_due != dossier.due_at or (step_due and new_step_due != step_due):
            plan.moves.append(Retiming(
                dossier.pk, dossier.code or "", dossier.due_at, new_due,
                dossier.step_due_at, new_step_due if step_due else dossier.step_due_at,
            ))
    return plan


def retime_apply(*, days: Iterable[date], actor, reason: str) -> RetimePlan:
    """Move every dossier the plan moves, each in its own transaction; a dossier changed since
    the plan was made is left out (and stays listed as not moved)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Cần ghi lý do điều chỉnh.")
    plan = retime_plan(days=days)
    moved = []
    for move in plan.moves:
        if _retime_one(move, actor=actor, reason=reason):
            moved.append(move)
        else:
            plan.unrebuilt.append(Unrebuilt(move.dossier_id, move.code, move.due_at, None))
    plan.moves = moved
    return plan


@transaction.atomic(durable=True)
def _retime_one(move: Retiming, *, actor, reason: str) -> bool:
    dossier = dossier_locked(move.dossier_id)
    if (dossier.due_at != move.due_at or dossier.step_due_at != move.step_due_at
            or dossier.state not in Dossier.IN_PROGRESS_STATES):
        return False
    cal = calendar_for(dossier.handling_agency)
    now = clock.now()
    before = StepState.of(dossier)
    dossier.due_at = move.new_due_at
    dossier.due_soon_at = sla.due_soon_from(move.new_due_at, cal)
    dossier.step_due_at = move.new_step_due_at
    if move.new_due_at > now:
        dossier.overdue_notified_at = None
    dossier.version += 1
    log = transition_log_append(
        dossier=dossier, name=RETIME, from_state=dossier.state, to_state=dossier.state,
        actor=actor, actor_label=actor.display_name if actor else "", at=now, reason=reason,
        step=dossier.current_step.code if dossier.current_step_id else "", clock_effect="",
        details={"due_at_before": move.due_at.astimezone(sla.VN_TZ).isoformat(),
                 "due_at": move.new_due_at.astimezone(sla.VN_TZ).isoformat()},
    )
    dossier.save(update_fields=["due_at", "due_soon_at", "step_due_at", "overdue_notified_at",
                                "version", "audit_head", "updated_at"])
    step_history_record(dossier=dossier, before=before, actor=actor, now=now,
                        calendar=lambda: cal)
    effects_queue(dossier=dossier, log=log, notify=True)
    return True

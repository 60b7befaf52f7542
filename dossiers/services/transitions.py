"""The one way a dossier changes state.

`transition_run` locks the dossier, checks the move (version, state, role, conditions), runs the
django-fsm transition, saves, appends the hash-chained log row, writes the outbox and
notification rows, and queues their delivery after the commit. What each transition needs (a
reason, its clock effect, whether the applicant hears of it) is declared once, in `SPECS`.

A service extends a move with two hooks, both given the `Move`:
- `prepare(move) -> dict`: computed before the transition, passed to the model's transition
  method as keyword arguments (the new due time, the dossier code...);
- `after(move) -> None`: runs after the transition method, before the log row is written; it
  writes related rows and records what the log should say in `move.details`.
State that both hooks share lives on the `Move` (its calendar, its clock effect, its details).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db import connection
from django.db.models import Exists, JSONField, OuterRef, prefetch_related_objects
from django.utils.translation import gettext as _

from django_fsm import can_proceed

from portal import clock
from portal.effects import task_after_commit
from portal.prepared import Prepared

from .. import sla
from ..exceptions import (
    CalendarWithoutWorkingDays,
    DossierNotFound,
    InvalidFormData,
    InvalidTransition,
    MissingDocuments,
    PaymentRequired,
    ReasonRequired,
    SignatureRequired,
    SignatureReviewRequired,
    StaleVersion,
    StepsRemaining,
    SupplementExpiryOtherAction,
    SupplementNotLapsed,
    TransitionForbidden,
)
from ..models import Dossier, Notification, Payment, ProcessStep
from .audit import transition_log_append
from .calendars import calendar_for
from .notifications import notification_queue
from .steps import StepState, step_history_record
from .sync import outbox_enqueue

REASON_REQUIRED, REASON_OPTIONAL, REASON_NONE = "required", "optional", "none"
RELAY_TASK = "dossiers.tasks.relay_outbox"


@dataclass(frozen=True)
class TransitionSpec:
    """What one transition needs from its caller and what it causes."""

    name: str
    reason: str = REASON_NONE
    clock_effect: str = ""
    notify_applicant: bool = False

    @property
    def takes_reason(self) -> bool:
        return self.reason != REASON_NONE


SPECS: dict[str, TransitionSpec] = {
    spec.name: spec
    for spec in (
        TransitionSpec("submit", notify_applicant=True),
        TransitionSpec("register", notify_applicant=True),
        TransitionSpec("resubmit", notify_applicant=True),
        TransitionSpec("return_for_completion", REASON_REQUIRED, notify_applicant=True),
        TransitionSpec("refuse_at_reception", REASON_REQUIRED, notify_applicant=True),
        TransitionSpec("accept", clock_effect="start", notify_applicant=True),
        TransitionSpec("request_supplement", REASON_REQUIRED, "pause", notify_applicant=True),
        TransitionSpec("supply", clock_effect="resume", notify_applicant=True),
        TransitionSpec("suspend", REASON_REQUIRED, "pause", notify_applicant=True),
        TransitionSpec("resume", clock_effect="resume", notify_applicant=True),
        TransitionSpec("advance_step", REASON_OPTIONAL, "step"),
        TransitionSpec("propose", REASON_OPTIONAL, "step"),
        TransitionSpec("send_back", REASON_REQUIRED, "step"),
        TransitionSpec("approve", REASON_OPTIONAL, "step"),
        TransitionSpec("refuse", REASON_REQUIRED, "stop", notify_applicant=True),
        TransitionSpec("issue_result", clock_effect="stop", notify_applicant=True),
        TransitionSpec("return_result", notify_applicant=True),
        TransitionSpec("withdraw", REASON_REQUIRED, "stop", notify_applicant=True),
        # A supplement left unanswered past its deadline: the procedure's action (the reason
        # defaults to what was missing).
        TransitionSpec("return_unanswered", REASON_OPTIONAL, "stop", notify_applicant=True),
        TransitionSpec("refuse_unanswered", REASON_OPTIONAL, "stop", notify_applicant=True),
    )
}


@dataclass
class Move:
    """One transition in progress, as its hooks see it."""

    dossier: Dossier
    actor: object
    spec: TransitionSpec
    now: datetime
    reason: str
    clock_effect: str
    details: dict = field(default_factory=dict)

    @cached_property
    def calendar(self) -> sla.WorkingCalendar:
        return calendar_for(self.dossier.handling_agency)


def reason_clean(spec: TransitionSpec, reason: str | None) -> str:
    """The reason as the transition takes it: required ones must say something."""
    reason = (reason or "").strip()
    if spec.reason == REASON_REQUIRED and not reason:
        raise ReasonRequired()
    return reason if spec.takes_reason else ""


def _locked_queryset(*, shape: tuple[bool, bool], dossier_id: int, applicant_id: int):
    owned, payments = shape
    qs = Dossier.objects.select_related(
        "procedure", "handling_agency", "reception_agency", "applicant", "current_step"
    ).filter(pk=dossier_id)
    if owned:
        qs = qs.filter(applicant_id=applicant_id)
    if payments:
        qs = qs.annotate(payments_exist=Exists(Payment.objects.filter(dossier=OuterRef("pk"))))
    if connection.features.has_select_for_update_of:
        return qs.select_for_update(of=("self",))
    return qs.select_for_update()


# Compiled once per process: the lock is the first statement of every change of a dossier.
_LOCKED = Prepared(_locked_queryset, dossier_id=int, applicant_id=int)


def row_id(value) -> int | None:
    """`value` as a number a row's id could be; None for anything else (no row has it, and the
    database would refuse a number beyond a signed 64-bit integer)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def dossier_id_checked(dossier_id) -> int:
    """The dossier id as a number a row could have; 404 for anything else."""
    number = row_id(dossier_id)
    if number is None:
        raise DossierNotFound()
    return number


def dossier_locked(dossier_id: int, *, applicant=None, payments: bool = False) -> Dossier:
    """The dossier, its row locked until the caller's transaction ends; 404 if it is gone (or,
    with `applicant`, if it is someone else's).

    With `payments`, the same query tells whether the dossier has any payment: when it has
    none and its fee is not due at submission (so no rule reads them), its payments are known
    to be empty without reading them; otherwise the caller prefetches them."""
    if not connection.in_atomic_block:
        raise RuntimeError("dossier_locked needs a transaction")
    dossier_id = dossier_id_checked(dossier_id)
    found = _LOCKED.rows(shape=(applicant is not None, payments), dossier_id=dossier_id,
                         applicant_id=applicant.pk if applicant is not None else 0)
    if not found:
        raise DossierNotFound()
    dossier = found[0]
    dossier._as_locked = {name: getattr(dossier, name) for name in _COMPARED}
    if payments and not dossier.payments_exist and not dossier.procedure.fee_due_at_submission:
        prefetched_set(dossier, "payments", [])
    return dossier


# The dossier's columns a move's save compares with the row it locked. The JSON columns are
# always written (a move may change them in place), and so is updated_at (Django stamps it).
_ALWAYS = frozenset(f.attname for f in Dossier._meta.concrete_fields
                    if isinstance(f, JSONField) or getattr(f, "auto_now", False))
_COMPARED = tuple(f.attname for f in Dossier._meta.concrete_fields
                  if not f.primary_key and f.attname not in _ALWAYS)


def changed_columns(dossier: Dossier) -> list[str] | None:
    """The fields to save after a move of a dossier read by `dossier_locked`: those whose
    value differs from the locked row's, with the JSON ones and updated_at; None (every
    field) for a dossier read some other way."""
    locked = getattr(dossier, "_as_locked", None)
    if locked is None:
        return None
    changed = [name for name, before in locked.items() if getattr(dossier, name) != before]
    return [*changed, *_ALWAYS]


# Compiled once per process: the moves between steps read the procedure's steps this way.
_STEPS = Prepared(lambda *, shape, procedure_id: ProcessStep.objects.filter(
    procedure_id=procedure_id), procedure_id=int)


def steps_prefetch(dossier: Dossier) -> None:
    """The procedure's steps, read under the dossier's lock and served as
    `procedure.steps.all()`, each knowing its procedure, as prefetch_related would."""
    procedure = dossier.procedure
    steps = _STEPS.rows(procedure_id=procedure.pk)
    for step in steps:
        ProcessStep.procedure.field.set_cached_value(step, procedure)
    prefetched_set(procedure, "steps", steps)


def prefetched_set(instance, name: str, rows: list) -> None:
    """Make `instance.<name>.all()` answer `rows` without a query, as a prefetch would."""
    qs = getattr(instance, name).get_queryset()
    qs._result_cache = rows
    qs._prefetch_done = True
    cache = getattr(instance, "_prefetched_objects_cache", None)
    if cache is None:
        cache = instance._prefetched_objects_cache = {}
    cache[name] = qs


def check_move(dossier: Dossier, *, name: str, actor, version: int | None) -> None:
    """A stale version (409), no such move from here (409), or not the actor's to make (403);
    the conditions come after, each with its own 4xx."""
    if version is not None and version != dossier.version:
        raise StaleVersion(extra={"current_version": dossier.version})
    meta = getattr(dossier, name)._django_fsm
    if not meta.has_transition(dossier.state):
        raise InvalidTransition(extra={"state": dossier.state, "transition": name})
    if not meta.has_transition_perm(dossier, dossier.state, actor):
        raise TransitionForbidden()


def _submission_failure(dossier: Dossier) -> Exception:
    problems = dossier.submission_problems
    if "form" in problems:
        return InvalidFormData(extra={"errors": problems["form"]})
    if "missing_components" in problems:
        return MissingDocuments(extra={"components": problems["missing_components"]})
    if "invalid_signatures" in problems:
        return SignatureRequired(extra={"components": problems["invalid_signatures"]})
    if "payment_required" in problems:
        return PaymentRequired(extra={"amount": problems["payment_required"]})
    return InvalidTransition()


def _signature_review_failure(dossier: Dossier) -> Exception:
    return SignatureReviewRequired(extra={"components": dossier.signatures_unreviewed})


def _result_fee_failure(dossier: Dossier) -> Exception:
    return PaymentRequired(
        _("Phải nộp phí, lệ phí trước khi nhận kết quả."),
        extra={"amount": dossier.procedure.fee_vnd},
    )


def _steps_remaining_failure(dossier: Dossier) -> Exception:
    following = dossier.next_step
    return StepsRemaining(extra={"step": dossier.current_step.code,
                                 "next_step": following.code if following else ""})


# A failed model condition (by its function's name) and the error the caller gets for it.
CONDITION_ERRORS: dict[str, Callable[[Dossier], Exception]] = {
    "_no_submission_problems": _submission_failure,
    "_complete_if_filed_by_a_portal": _submission_failure,
    "_signatures_reviewed": _signature_review_failure,
    "_result_fee_settled": _result_fee_failure,
    "_no_step_of_this_role_left": _steps_remaining_failure,
    "_supplement_lapsed": lambda dossier: SupplementNotLapsed(),
    "_expiry_says_return": lambda dossier: SupplementExpiryOtherAction(
        extra={"action": dossier.procedure.supplement_expiry}),
    "_expiry_says_refuse": lambda dossier: SupplementExpiryOtherAction(
        extra={"action": dossier.procedure.supplement_expiry}),
}


def condition_failure(dossier: Dossier, name: str) -> Exception:
    """The specific error of the first condition of `name` that does not hold."""
    transition = getattr(dossier, name)._django_fsm.get_transition(dossier.state)
    for condition in transition.conditions if transition else ():
        if not condition(dossier):
            explain = CONDITION_ERRORS.get(condition.__name__)
            if explain is not None:
                return explain(dossier)
            return InvalidTransition(extra={"condition": condition.__name__.strip("_")})
    return InvalidTransition()


def transition_run(
    *,
    dossier_id: int,
    actor,
    name: str,
    reason: str = "",
    version: int | None = None,
    prepare: Callable[[Move], dict] | None = None,
    after: Callable[[Move], None] | None = None,
    prefetch: Iterable = (),
    owner_only: bool = False,
    last: Callable[[Move], None] | None = None,
) -> Dossier:
    """Lock, check, run the transition, save, log, and queue its side effects after commit.

    With `owner_only`, a dossier that is not the actor's own is not found (404), as the
    applicant's reads answer. `last(move)` runs once the log and email rows are written, just
    before the dossier row is saved: what it locks (a shared counter row) is held over the
    fewest statements. Runs inside the caller's transaction (entry-point services are durable
    atomic blocks)."""
    spec = SPECS[name]
    reason = reason_clean(spec, reason)
    dossier = dossier_locked(dossier_id, applicant=actor if owner_only else None,
                             payments="payments" in prefetch)
    check_move(dossier, name=name, actor=actor, version=version)
    lookups = [p for p in prefetch if not callable(p)]
    if lookups:
        prefetch_related_objects([dossier], *lookups)
    for fill in (p for p in prefetch if callable(p)):
        fill(dossier)
    method = getattr(dossier, name)
    if not can_proceed(method):
        raise condition_failure(dossier, name)

    move = Move(dossier=dossier, actor=actor, spec=spec, now=clock.now(), reason=reason,
                clock_effect=spec.clock_effect)
    steps_before = StepState.of(dossier)
    try:
        kwargs = prepare(move) if prepare else {}
        from_state = dossier.state
        method(at=move.now, **kwargs)
        dossier.version += 1
        if reason:
            dossier.reason = reason
        if after:
            after(move)
        step_history_record(dossier=dossier, before=steps_before, actor=actor, now=move.now,
                            calendar=lambda: move.calendar)
    except sla.NoWorkingDay as exc:
        raise CalendarWithoutWorkingDays(
            extra={"agency": dossier.handling_agency.code}
        ) from exc
    log = transition_log_append(
        dossier=dossier, name=name, from_state=from_state, to_state=dossier.state,
        actor=actor, actor_label=actor.display_name, at=move.now, reason=reason,
        step=dossier.current_step.code if dossier.current_step_id else "",
        clock_effect=move.clock_effect, details=move.details,
    )
    if spec.notify_applicant:
        _email_queue(dossier=dossier, log=log)
    if last:
        last(move)
    # Only the columns the move changed: the UPDATE of every column was a tenth of a move.
    dossier.save(update_fields=changed_columns(dossier))
    _outbox_queue(dossier=dossier, log=log)
    return dossier


def effects_queue(*, dossier: Dossier, log, notify: bool) -> None:
    """The outbox rows and the applicant's email a logged change owes, written now and
    delivered after the commit (retried from these rows if delivery fails)."""
    _outbox_queue(dossier=dossier, log=log)
    if notify:
        _email_queue(dossier=dossier, log=log)


def _outbox_queue(*, dossier: Dossier, log) -> None:
    # The relay is queued only for rows due now: a held row has nothing to send until its
    # procedure has a national code (the periodic relay releases it then).
    if outbox_enqueue(dossier=dossier, row=log):
        task_after_commit(RELAY_TASK)


def _email_queue(*, dossier: Dossier, log) -> None:
    notification_queue(dossier=dossier, kind=Notification.Kind.TRANSITION, at=log.at,
                       transition=log)


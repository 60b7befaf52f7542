"""Dossier drafting and every state change, all through one locking transition helper."""

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from django_fsm import can_proceed

from portal import clock
from portal.roles import Role

from .. import sla
from ..exceptions import (
    DossierNotFound,
    InvalidFormData,
    InvalidTransition,
    MissingDocuments,
    PaymentRequired,
    ProcedureNotFound,
    ReasonRequired,
    SignatureRequired,
    SignatureReviewRequired,
    StaleVersion,
    TransitionForbidden,
)
from ..models import (
    Agency,
    DailyCounter,
    Document,
    Dossier,
    HolidayOverride,
    Payment,
    Procedure,
    ProcessStep,
)
from .audit import transition_log_append
from .indicators import summary_add
from .sync import outbox_enqueue

# Transitions an applicant hears about by email; the internal hand-overs stay internal.
NOTIFY_APPLICANT = {
    "submit", "resubmit", "return_for_completion", "refuse_at_reception", "accept",
    "request_supplement", "supply", "suspend", "resume", "refuse", "issue_result",
    "return_result", "withdraw",
}


def calendar_for(agency: Agency) -> sla.WorkingCalendar:
    """The agency's working calendar with the administrators' overrides."""
    off, extra = [], []
    for day, kind in HolidayOverride.objects.values_list("date", "kind"):
        (off if kind == HolidayOverride.Kind.DAY_OFF else extra).append(day)
    return sla.WorkingCalendar(
        sessions=agency.sessions, extra_days_off=off, extra_working_days=extra
    )


def _locked(dossier_id: int) -> Dossier:
    qs = Dossier.objects.select_related(
        "procedure", "handling_agency", "reception_agency", "applicant"
    )
    if connection.features.has_select_for_update_of:
        qs = qs.select_for_update(of=("self",))
    else:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=dossier_id)
    except Dossier.DoesNotExist as exc:
        raise DossierNotFound() from exc


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


def _transition(
    *,
    dossier_id: int,
    actor,
    name: str,
    reason: str = "",
    version: int | None = None,
    require_reason: bool = False,
    prepare: Callable[[Dossier, datetime], dict] | None = None,
    after: Callable[[Dossier, datetime], dict | None] | None = None,
    clock_effect: str = "",
    prefetch: tuple = (),
) -> Dossier:
    """Lock, check, run the transition, save, log, and schedule side effects after commit."""
    if require_reason and not (reason or "").strip():
        raise ReasonRequired()
    dossier = _locked(dossier_id)
    check_move(dossier, name=name, actor=actor, version=version)
    if prefetch:
        prefetch_related_objects([dossier], *prefetch)
    method = getattr(dossier, name)
    if not can_proceed(method):
        _raise_condition_failure(dossier, name)

    now = clock.now()
    kwargs = prepare(dossier, now) if prepare else {}
    from_state = dossier.state
    method(at=now, **kwargs)
    dossier.version += 1
    if reason:
        dossier.reason = reason
    details = (after(dossier, now) if after else None) or {}
    log = transition_log_append(
        dossier=dossier, name=name, from_state=from_state, to_state=dossier.state,
        actor=actor, actor_label=actor.display_name, at=now, reason=reason,
        step=dossier.current_step.code if dossier.current_step_id else "",
        clock_effect=clock_effect, details=details,
    )
    dossier.save()
    from ..tasks import notify_applicant, relay_outbox

    if outbox_enqueue(dossier=dossier, row=log):
        transaction.on_commit(relay_outbox.delay)
    if name in NOTIFY_APPLICANT:
        transaction.on_commit(partial(notify_applicant.delay, log.pk))
    return dossier


def _raise_condition_failure(dossier: Dossier, name: str) -> None:
    if name == "accept" and dossier.signatures_unreviewed:
        raise SignatureReviewRequired(extra={"components": dossier.signatures_unreviewed})
    if name == "return_result" and dossier.result_fee_outstanding:
        raise PaymentRequired(
            _("Phải nộp phí, lệ phí trước khi nhận kết quả."),
            extra={"amount": dossier.procedure.fee_vnd},
        )
    problems = dossier.submission_problems if name in ("submit", "resubmit") else {}
    if "form" in problems:
        raise InvalidFormData(extra={"errors": problems["form"]})
    if "missing_components" in problems:
        raise MissingDocuments(extra={"components": problems["missing_components"]})
    if "invalid_signatures" in problems:
        raise SignatureRequired(extra={"components": problems["invalid_signatures"]})
    if "payment_required" in problems:
        raise PaymentRequired(extra={"amount": problems["payment_required"]})
    raise InvalidTransition()


# --- drafting ------------------------------------------------------------------------


def _check_form(procedure: Procedure, form_data) -> None:
    if not isinstance(form_data, dict):
        raise InvalidFormData(extra={"errors": [{"field": "", "message": "must be an object"}]})
    # A draft may be incomplete; types and formats are still checked as the user types.
    errors = [e for e in procedure.form_errors(form_data) if "is a required property" not in e["message"]]
    if errors:
        raise InvalidFormData(extra={"errors": errors})


@transaction.atomic(durable=True)
def dossier_create(
    *, actor, procedure_id: int, form_data: dict | None = None,
    channel: str = Dossier.Channel.ONLINE, on_behalf_name: str = "",
) -> Dossier:
    """Open a draft dossier for a procedure of the catalog."""
    procedure = Procedure.objects.select_related("agency").filter(
        pk=procedure_id, is_active=True
    ).first()
    if procedure is None:
        raise ProcedureNotFound(extra={"procedure_id": procedure_id})
    form_data = form_data or {}
    _check_form(procedure, form_data)
    dossier = Dossier(
        procedure=procedure, applicant=actor, form_data=form_data, channel=channel,
        on_behalf_name=on_behalf_name, reception_agency=procedure.agency,
        handling_agency=procedure.agency,
    )
    dossier.full_clean(exclude=["state"])
    dossier.save()
    return dossier


EDITABLE_STATES = (
    Dossier.State.DRAFT, Dossier.State.NEEDS_COMPLETION, Dossier.State.AWAITING_SUPPLEMENT
)


@transaction.atomic(durable=True)
def dossier_update_form(
    *, dossier_id: int, actor, form_data: dict, version: int | None = None
) -> Dossier:
    """Replace the form data while the applicant may still edit it."""
    dossier = _locked(dossier_id)
    if dossier.applicant_id != actor.pk:
        raise DossierNotFound()
    if version is not None and version != dossier.version:
        raise StaleVersion(extra={"current_version": dossier.version})
    if dossier.state not in EDITABLE_STATES:
        raise InvalidTransition(_("Không thể sửa tờ khai ở trạng thái hiện tại."))
    _check_form(dossier.procedure, form_data)
    dossier.form_data = form_data
    dossier.version += 1
    dossier.save(update_fields=["form_data", "version", "updated_at"])
    return dossier


# --- submission ----------------------------------------------------------------------


def _next_code(agency: Agency, at: datetime) -> str:
    day = timezone.localtime(at).date()
    table = connection.ops.quote_name(DailyCounter._meta.db_table)
    # One atomic upsert hands out the next number, unique under concurrent submissions.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (agency_id, day, value) VALUES (%s, %s, 1) "
            f"ON CONFLICT (agency_id, day) DO UPDATE SET value = {table}.value + 1 "
            "RETURNING value",
            [agency.pk, day],
        )
        seq = cursor.fetchone()[0]
    return agency.format_code(day=day, seq=seq)


SUBMISSION_PREFETCH = (
    "procedure__components",
    Prefetch(
        "documents", queryset=Document.objects.filter(is_current=True).select_related("component")
    ),
    "payments",
)


@transaction.atomic(durable=True)
def dossier_submit(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Submit a complete draft: it gets its dossier code and waits for reception."""

    def prepare(dossier: Dossier, now: datetime) -> dict:
        return {"code": _next_code(dossier.handling_agency, now)}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="submit", version=version,
        prepare=prepare, prefetch=SUBMISSION_PREFETCH,
    )


@transaction.atomic(durable=True)
def dossier_resubmit(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Send a completed dossier back to reception."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="resubmit", version=version,
        prefetch=SUBMISSION_PREFETCH,
    )


# --- reception -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def dossier_return_for_completion(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """Reception asks the applicant to complete the dossier; the clock has not started."""
    return _transition(
        dossier_id=dossier_id, actor=actor, name="return_for_completion", reason=reason,
        require_reason=True, version=version,
    )


@transaction.atomic(durable=True)
def dossier_refuse_at_reception(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """Reception refuses the dossier (form 03)."""

    def after(dossier: Dossier, now: datetime) -> None:
        summary_add(dossier=dossier, at=now, rejected=1)

    return _transition(
        dossier_id=dossier_id, actor=actor, name="refuse_at_reception", reason=reason,
        require_reason=True, version=version, after=after,
    )


def _first_step(procedure: Procedure, role: str) -> ProcessStep | None:
    return procedure.steps.filter(role=role).order_by("order").first()


def _enter_step(dossier: Dossier, role: str, now: datetime, cal: sla.WorkingCalendar) -> None:
    step = _first_step(dossier.procedure, role)
    dossier.current_step = step
    dossier.step_started_at = now
    dossier.step_due_at = sla.due_at(now, step.budget_days, cal) if step else None


@transaction.atomic(durable=True)
def dossier_accept(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Reception accepts the dossier: the clock starts and the appointment is set."""
    holder: dict = {}

    def prepare(dossier: Dossier, now: datetime) -> dict:
        cal = holder["cal"] = calendar_for(dossier.handling_agency)
        due = sla.due_at(
            now, dossier.procedure.processing_days, cal, kind=dossier.procedure.duration_kind
        )
        return {"due_at": due, "due_soon_at": sla.due_soon_from(due, cal)}

    def after(dossier: Dossier, now: datetime) -> dict:
        _enter_step(dossier, Role.SPECIALIST, now, holder["cal"])
        fee = dossier.procedure.fee_vnd > 0
        paid_online = any(
            p.status == Payment.Status.PAID and p.channel == Payment.Channel.ONLINE
            for p in dossier.payments.all()
        )
        digitized = any(d.digitized for d in dossier.documents.all())
        summary_add(
            dossier=dossier, at=now, received=1, fee_bearing=int(fee),
            paid_online=int(fee and paid_online), digitized=int(digitized),
        )
        return {"due_at": dossier.due_at.isoformat()}

    return _transition(
        dossier_id=dossier_id, actor=actor, name="accept", version=version,
        prepare=prepare, after=after, clock_effect="start", prefetch=SUBMISSION_PREFETCH,
    )

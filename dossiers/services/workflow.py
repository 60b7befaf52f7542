"""Dossier drafting, submission and reception; every state change goes through
`transitions.transition_run`."""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.prepared import Prepared
from portal.roles import Role

from .. import sla
from ..exceptions import (
    DossierNotFound,
    InvalidFormData,
    InvalidTransition,
    ProcedureNotFound,
    StaleVersion,
)
from ..models import (
    Agency,
    DailyCounter,
    DocumentComponent,
    Dossier,
    Procedure,
)
from .indicators import summary_add, summary_count_paid_online
from .steps import step_enter, step_first
from .transitions import (
    Move,
    dossier_locked,
    prefetched_set,
    row_id,
    steps_prefetch,
    transition_run,
)

# --- drafting ------------------------------------------------------------------------


def _check_form(procedure: Procedure, form_data) -> None:
    if not isinstance(form_data, dict):
        raise InvalidFormData(extra={"errors": [{
            "field": "", "code": "type",
            "message": _("Dữ liệu tờ khai phải là một đối tượng JSON (các cặp tên trường – giá trị)."),
        }]})
    # A draft may be incomplete; types and formats are still checked as the user types.
    errors = [e for e in procedure.form_errors(form_data) if e["code"] != "required"]
    if errors:
        raise InvalidFormData(extra={"errors": errors})


# Compiled once per process: every new draft reads its procedure this way.
_PROCEDURE_OPEN = Prepared(
    lambda *, shape, procedure_id: Procedure.objects.select_related("agency").filter(
        pk=procedure_id, is_active=True),
    procedure_id=int)


def _procedure_open(procedure_id) -> list[Procedure]:
    """The active procedure with this id (and its agency), if the id is one a row could have."""
    number = row_id(procedure_id)
    return _PROCEDURE_OPEN.rows(procedure_id=number) if number is not None else []


def dossier_create(
    *, actor, procedure_id: int, form_data: dict | None = None,
    channel: str = Dossier.Channel.ONLINE, on_behalf_name: str = "",
) -> Dossier:
    """Open a draft dossier for a procedure of the catalog.

    The procedure is read and the draft checked before the transaction, which only inserts
    the row: a new draft has nothing to lock, and under SQLite every transaction holds the
    one write lock (the checks were most of the hold)."""
    found = _procedure_open(procedure_id)
    if not found:
        raise ProcedureNotFound(extra={"procedure_id": procedure_id})
    procedure = found[0]
    form_data = form_data or {}
    _check_form(procedure, form_data)
    dossier = Dossier(
        procedure=procedure, applicant=actor, form_data=form_data, channel=channel,
        on_behalf_name=on_behalf_name, reception_agency=procedure.agency,
        handling_agency=procedure.agency,
    )
    # The procedure and its agency were just read and the applicant is the caller: their rows
    # are not looked up again (a query each); no constraint of the dossier names them.
    dossier.full_clean(exclude=["state", "procedure", "applicant", "reception_agency",
                                "handling_agency"])
    with transaction.atomic(durable=True):
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
    dossier = dossier_locked(dossier_id)
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


def dossier_code_allocate(agency: Agency, at: datetime) -> str:
    """The next dossier code of the agency for the day of `at`."""
    day = timezone.localtime(at).date()
    table = connection.ops.quote_name(DailyCounter._meta.db_table)
    # One atomic upsert hands out the next number, unique under concurrent submissions.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (agency_id, day, value) VALUES (%s, %s, 1) "  # nosec B608  # the table is the model's quoted name; values are parameters
            f"ON CONFLICT (agency_id, day) DO UPDATE SET value = {table}.value + 1 "
            "RETURNING value",
            [agency.pk, day],
        )
        seq = cursor.fetchone()[0]
    return agency.format_code(day=day, seq=seq)


def _papers_queryset(*, shape, procedure_id: int, dossier_id: int):
    return (
        DocumentComponent.objects.filter(procedure_id=procedure_id)
        .annotate(current=FilteredRelation("documents", condition=Q(
            documents__dossier_id=dossier_id, documents__is_current=True)))
        .select_related("current").order_by("order", "id")
    )


# Compiled once per process: every submission reads the papers this way.
_PAPERS = Prepared(_papers_queryset, procedure_id=int, dossier_id=int)


def papers_prefetch(dossier: Dossier) -> None:
    """The procedure's components and the dossier's current documents (what
    `submission_problems` reads) in one query, served as `procedure.components.all()` and
    `documents.all()` (each document with its component)."""
    components = _PAPERS.rows(procedure_id=dossier.procedure_id, dossier_id=dossier.pk)
    documents = []
    for component in components:
        document = getattr(component, "current", None)  # unset when the join found none
        if document is not None:
            document.component = component
            documents.append(document)
    documents.sort(key=lambda d: d.component_id)
    prefetched_set(dossier.procedure, "components", components)
    prefetched_set(dossier, "documents", documents)


# The payments are read (one query) only when the procedure has a fee.
SUBMISSION_PREFETCH = (papers_prefetch,)


@transaction.atomic(durable=True)
def dossier_submit(
    *, dossier_id: int, actor, version: int | None = None, owner_only: bool = False
) -> Dossier:
    """Submit a complete draft: it gets its dossier code and waits for reception.

    `owner_only`: another's dossier is not found (404) rather than forbidden (403), as the
    applicant's API answers; the answer's payments are then read under the same lock."""

    def code_allocate(move: Move) -> None:
        # The transition runs without its code (None); the code is given here, last before
        # the dossier row is saved: concurrent submissions to the agency wait on the day's
        # counter row until the commit, so it is taken as late as it can be.
        move.dossier.code = dossier_code_allocate(move.dossier.handling_agency, move.now)

    prefetch = (*SUBMISSION_PREFETCH, "payments") if owner_only else SUBMISSION_PREFETCH
    return transition_run(
        dossier_id=dossier_id, actor=actor, name="submit", version=version,
        prepare=lambda move: {"code": None}, last=code_allocate, prefetch=prefetch,
        owner_only=owner_only,
    )


@transaction.atomic(durable=True)
def dossier_resubmit(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Send a completed dossier back to reception."""
    return transition_run(
        dossier_id=dossier_id, actor=actor, name="resubmit", version=version,
        prefetch=SUBMISSION_PREFETCH,
    )


# --- reception -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def dossier_return_for_completion(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """Reception asks the applicant to complete the dossier; the clock has not started."""
    return transition_run(
        dossier_id=dossier_id, actor=actor, name="return_for_completion", reason=reason,
        version=version,
    )


@transaction.atomic(durable=True)
def dossier_refuse_at_reception(
    *, dossier_id: int, actor, reason: str, version: int | None = None
) -> Dossier:
    """Reception refuses the dossier (form 03)."""

    def after(move: Move) -> None:
        summary_add(dossier=move.dossier, at=move.now, rejected=1)

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="refuse_at_reception", reason=reason,
        version=version, after=after,
    )


@transaction.atomic(durable=True)
def dossier_accept(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """Reception accepts the dossier: the clock starts and the appointment is set."""

    def prepare(move: Move) -> dict:
        procedure = move.dossier.procedure
        due = sla.due_at(move.now, procedure.processing_days, move.calendar,
                         kind=procedure.duration_kind)
        return {"due_at": due, "due_soon_at": sla.due_soon_from(due, move.calendar)}

    def after(move: Move) -> None:
        dossier = move.dossier
        step_enter(dossier, step_first(dossier, Role.SPECIALIST), move.now, move.calendar)
        fee = dossier.procedure.fee_vnd > 0
        digitized = any(d.digitized for d in dossier.documents.all())
        summary_add(
            dossier=dossier, at=move.now, received=1, fee_bearing=int(fee),
            digitized=int(digitized),
        )
        if fee:  # a fee paid online before reception counts now, once
            summary_count_paid_online(dossier=dossier)
        move.details["due_at"] = dossier.due_at.isoformat()

    return transition_run(
        dossier_id=dossier_id, actor=actor, name="accept", version=version,
        prepare=prepare, after=after, prefetch=(*SUBMISSION_PREFETCH, steps_prefetch),
    )

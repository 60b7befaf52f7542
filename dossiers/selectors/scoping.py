"""Reads of dossiers and their documents, each scoped to what the user may see."""

import hmac

from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from portal.roles import Role

from ..exceptions import DossierNotFound, LookupNotFound, PaymentRequired
from ..models import Agency, Document, Dossier, DossierTransition, Procedure, ProcessStep, Result
from ..models.dossier import RECEIVED_FOR_ANOTHER, unit_bound


def procedure_list(*, sector: str | None = None, search: str | None = None) -> QuerySet:
    qs = Procedure.objects.filter(is_active=True).select_related("agency")
    if sector:
        qs = qs.filter(sector=sector)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(national_code__icontains=search))
    return qs.prefetch_related("components", "steps")


def _dossier_rows() -> QuerySet:
    return Dossier.objects.select_related(
        "procedure", "handling_agency", "reception_agency", "assignee", "current_step__unit",
        "applicant",
    ).prefetch_related("payments")


def dossier_list_for(*, user) -> QuerySet:
    """Dossiers the user may see: applicants their own, staff their agency's, a specialist
    placed in a unit that unit's and those assigned to them."""
    qs = _dossier_rows()
    if user.has_role(*Role.STAFF):
        if not user.has_role(*Role.OFFICERS, Role.MANAGER):
            return qs.none()  # administrators configure the portal; they do not read dossiers
        if user.has_role(Role.MANAGER) and not user.agency_code:
            return qs.exclude(state=Dossier.State.DRAFT)  # a provincial manager sees all
        qs = qs.exclude(state=Dossier.State.DRAFT).filter(
            Q(handling_agency__code=user.agency_code) | Q(reception_agency__code=user.agency_code)
        )
        if unit_bound(user):
            qs = qs.filter(
                Q(assignee=user)
                | Q(current_step__unit__code=user.unit_code,
                    current_step__unit__agency__code=user.agency_code)
            )
        return qs
    return qs.filter(applicant=user)


def dossier_list_parts_for(*, user) -> list[QuerySet]:
    """`dossier_list_for(user)` as disjoint parts whose union is exactly it, each filtered on
    one indexed column: for the staff of an agency, the dossiers it handles, then those
    received at its desk for another agency. A part can be read in the order of an index on
    its agency column, where the single query's OR across two joined agency codes makes the
    database read and sort every row of both. Anyone else gets `[dossier_list_for(user)]`."""
    if not (user.agency_code and user.has_role(*Role.STAFF)
            and user.has_role(*Role.OFFICERS, Role.MANAGER)):
        return [dossier_list_for(user=user)]
    agency = Subquery(Agency.objects.filter(code=user.agency_code).values("pk")[:1])
    qs = _dossier_rows().exclude(state=Dossier.State.DRAFT)
    if unit_bound(user):
        unit_steps = ProcessStep.objects.filter(
            unit__code=user.unit_code, unit__agency__code=user.agency_code
        ).values("pk")
        qs = qs.filter(Q(assignee=user) | Q(current_step__in=unit_steps))
    return [
        qs.filter(handling_agency_id=agency),
        # Written as the partial indexes' condition so the database matches them.
        qs.filter(RECEIVED_FOR_ANOTHER, reception_agency_id=agency),
    ]



def dossier_get_for(*, user, dossier_id: int) -> Dossier:
    """One dossier the user may see, or DossierNotFound (another applicant's is a 404)."""
    dossier = dossier_list_for(user=user).filter(pk=dossier_id).first()
    if dossier is None:
        raise DossierNotFound()
    return dossier


def dossier_documents(*, dossier: Dossier, all_versions: bool = False) -> QuerySet:
    qs = Document.objects.filter(dossier=dossier).select_related("component")
    return qs if all_versions else qs.filter(is_current=True)


def document_get_for(*, user, document_id: int) -> Document:
    document = Document.objects.select_related("dossier", "component").filter(pk=document_id).first()
    if document is None or not dossier_list_for(user=user).filter(pk=document.dossier_id).exists():
        raise DossierNotFound()
    return document


def dossier_result(*, dossier: Dossier, user=None) -> Result | None:
    """The dossier's result; its applicant gets it only once a fee due before the result is
    paid (a refusal notice is never held back)."""
    result = Result.objects.filter(dossier=dossier).first()
    if (result is not None and user is not None and dossier.applicant_id == user.pk
            and result.kind != Result.Kind.REFUSAL and dossier.result_fee_outstanding):
        raise PaymentRequired(
            _("Phải nộp phí, lệ phí trước khi nhận kết quả."),
            extra={"amount": dossier.procedure.fee_vnd},
        )
    return result


def dossier_history(*, dossier: Dossier) -> QuerySet:
    return DossierTransition.objects.filter(dossier=dossier).order_by("id")


def dossier_lookup(*, code: str, secret: str) -> Dossier:
    """Public status by code and lookup secret; a wrong pair says nothing about the code."""
    dossier = Dossier.objects.select_related("procedure").filter(code=code).first()
    expected = dossier.lookup_secret if dossier else "x" * 12
    if not hmac.compare_digest(expected.encode(), (secret or "").encode()) or dossier is None:
        raise LookupNotFound()
    return dossier

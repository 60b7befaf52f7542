"""The reception desk's pages: a paper dossier registered at the desk or received by post
(for this agency or, under Decree 118/2025, for another agency of the province), and the
desk's part when a dossier ends (the refusal notice handed over, the applicant's rating).
Every change goes through the services the API calls; their refusals show next to the fields."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dossiers import selectors, services
from dossiers.exceptions import DossierNotFound, InvalidFormData
from dossiers.models import Dossier, Rating
from dossiers.services.desk import handed_over
from dossiers.services.intake import ApplicantIdentity, PaperScan, intake_check
from portal.exceptions import DomainError
from portal.roles import Role

from ..access import role_required
from ..applicant.schema_form import SchemaForm
from .forms_intake import DeskRatingForm, IntakeForm, ProcedurePickForm

SCHEMA_PREFIX = "tk"


def _procedures():
    return selectors.procedure_list().order_by("agency__name", "national_code", "name")


def _dossier_or_404(request, dossier_id: int) -> Dossier:
    try:
        return selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
    except DossierNotFound as exc:
        raise Http404 from exc


def _identity(data: dict) -> ApplicantIdentity:
    return ApplicantIdentity(
        kind=data.get("applicant_kind") or "", name=data.get("applicant_name") or "",
        id_number=data.get("id_number") or "", phone=data.get("phone") or "",
        email=data.get("email") or "", address=data.get("address") or "")


def _place_errors(errors: list[dict], form: IntakeForm, schema_form: SchemaForm) -> list[str]:
    """The service's field errors next to their fields; what has no field goes on top."""
    general = []
    for error in errors:
        name = error.get("field") or ""
        if name.startswith("form."):
            schema_form.add_schema_errors([{**error, "field": name[5:]}])
        elif name in form.fields:
            if name not in form.errors or error["message"] not in form.errors[name]:
                form.add_error(name, error["message"])
        else:
            general.append(error["message"])
    return general


@role_required(Role.RECEPTION)
@require_http_methods(["GET", "POST"])
def intake(request):
    """Tiếp nhận hồ sơ trực tiếp: choose the procedure, then the applicant, the form and the
    scans; a procedure of this agency is received at once, another agency's is handed over."""
    procedures = list(_procedures())
    pick = ProcedurePickForm(request.GET or None, procedures=procedures)
    procedure = None
    if pick.is_bound and pick.is_valid():
        procedure = next(p for p in procedures if p.pk == pick.cleaned_data["thu_tuc"])
    context = {"pick": pick, "procedure": procedure, "title": _("Tiếp nhận hồ sơ trực tiếp")}
    if procedure is None:
        if request.method == "POST":
            return redirect("web:officers:intake")
        return render(request, "web/officers/intake.html", context)

    own = procedure.agency.code == request.user.agency_code
    components = list(procedure.components.all())
    init = {"components": components, "fee_due": own and procedure.fee_due_at_submission}
    schema = procedure.form_schema or {}
    status, general = 200, []
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES, **init)
        schema_form = SchemaForm(request.POST, schema=schema, prefix=SCHEMA_PREFIX)
        schema_form.is_valid()  # the fields only convert; the schema judges in the service
        form_data = schema_form.schema_data()
        if form.is_valid():
            data = form.cleaned_data
            scans = [PaperScan(name.removeprefix("scan_"), data[name])
                     for name in form.scan_names if data.get(name)]
            try:
                result = services.intake_register(
                    actor=request.user, procedure_id=procedure.pk, channel=data["channel"],
                    applicant=_identity(data),
                    form_data=form_data, scans=scans, on_behalf_name=data["on_behalf_name"],
                    fee_channel=data.get("fee_channel", ""),
                )
            except InvalidFormData as exc:
                general = _place_errors(exc.extra.get("errors") or [], form, schema_form)
                if not exc.extra.get("errors"):
                    general.append(str(exc.message))
            except DomainError as exc:
                general.append(str(exc.message))
            else:
                if result.received:
                    messages.success(request, _(
                        "Đã tiếp nhận hồ sơ %(code)s; thời hạn giải quyết bắt đầu tính.")
                        % {"code": result.dossier.code})
                else:
                    messages.success(request, _(
                        "Đã tiếp nhận hồ sơ %(code)s và chuyển điện tử cho %(agency)s.")
                        % {"code": result.dossier.code, "agency": result.handed_over_to.name})
                return redirect("web:officers:intake_done", dossier_id=result.dossier.pk)
        else:
            # The service's own checks too, so every problem shows at once.
            data = {**{n: form.data.get(n, "") for n in form.fields}, **form.cleaned_data}
            general = _place_errors(intake_check(
                actor=request.user, procedure=procedure, channel=data["channel"],
                applicant=_identity(data), form_data=form_data,
                scans=[PaperScan(n.removeprefix("scan_"), data[n])
                       for n in form.scan_names if data.get(n)],
                fee_channel=data.get("fee_channel") or "",
            ), form, schema_form)
        status = 400
    else:
        form = IntakeForm(**init)
        schema_form = SchemaForm(schema=schema, prefix=SCHEMA_PREFIX)
    form.mark_invalid()
    schema_form.mark_invalid()
    context.update({
        "form": form, "schema_form": schema_form, "general_errors": general, "own": own,
        "components": components, "has_errors": status != 200,
        "action": f"{reverse('web:officers:intake')}?thu_tuc={procedure.pk}",
    })
    return render(request, "web/officers/intake.html", context, status=status)


@role_required(Role.RECEPTION)
@require_http_methods(["GET"])
def intake_done(request, dossier_id: int):
    """What the desk hands the applicant: the code, the appointment and form 01 to print, or
    where the dossier went."""
    dossier = _dossier_or_404(request, dossier_id)
    documents = selectors.dossier_documents(dossier=dossier).order_by("component__order")
    return render(request, "web/officers/intake_done.html", {
        "dossier": dossier, "documents": documents,
        "handed_over": dossier.reception_agency_id != dossier.handling_agency_id,
        "title": _("Đã tiếp nhận hồ sơ %(code)s") % {"code": dossier.code},
    })


def _rating(dossier: Dossier) -> Rating | None:
    try:
        return dossier.rating
    except Rating.DoesNotExist:
        return None


def _desk_page(request, dossier: Dossier, *, form=None, status: int = 200, error: str = ""):
    rating = _rating(dossier)
    can_rate = handed_over(dossier) and rating is None
    if can_rate and form is None:
        form = DeskRatingForm()
    if form is not None:
        form.mark_invalid()
    return render(request, "web/officers/desk.html", {
        "dossier": dossier, "rating": rating, "form": form if can_rate else None,
        "can_hand_over_refusal": (dossier.state == Dossier.State.REFUSED
                                  and dossier.returned_at is None),
        "error": error, "title": _("Trả kết quả tại Bộ phận Một cửa"),
    }, status=status)


@role_required(Role.RECEPTION)
@require_http_methods(["GET"])
def desk(request, dossier_id: int):
    return _desk_page(request, _dossier_or_404(request, dossier_id))


@role_required(Role.RECEPTION)
@require_http_methods(["POST"])
def hand_over_refusal(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    try:
        services.dossier_hand_over_refusal(dossier_id=dossier.pk, actor=request.user)
    except DomainError as exc:
        return _desk_page(request, _dossier_or_404(request, dossier_id),
                          status=exc.http_status, error=str(exc.message))
    messages.success(request, _("Đã trả văn bản từ chối giải quyết cho người nộp."))
    return redirect("web:officers:desk", dossier_id=dossier.pk)


@role_required(Role.RECEPTION)
@require_http_methods(["POST"])
def desk_rating(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    form = DeskRatingForm(request.POST)
    if not form.is_valid():
        return _desk_page(request, dossier, form=form, status=400)
    try:
        services.rating_record_at_desk(dossier_id=dossier.pk, actor=request.user,
                                       **form.cleaned_data)
    except DomainError as exc:
        return _desk_page(request, _dossier_or_404(request, dossier_id), form=form,
                          status=exc.http_status, error=str(exc.message))
    messages.success(request, _("Đã ghi nhận đánh giá của người nộp."))
    return redirect("web:officers:desk", dossier_id=dossier.pk)

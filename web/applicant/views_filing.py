"""The filing wizard: start a draft, fill in the form, upload the documents, review and submit;
the documents page also sends a supplement or a completed dossier back.

Each page reads through the scoping selectors (another applicant's dossier is a 404) and changes
things only through the dossier services, the same ones the API calls."""

import uuid
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dossiers import selectors, services
from dossiers.exceptions import (
    DossierNotFound,
    FileTooLarge,
    InvalidFormData,
    ProcedureNotFound,
    StaleVersion,
    UnsupportedFileType,
)
from dossiers.models import Document, Dossier, Procedure, form_properties
from dossiers.services.workflow import EDITABLE_STATES
from portal.exceptions import DomainError
from signatures.demo_signing import demo_pdf_sign, demo_signing_enabled

from ..access import applicant_required
from .forms_filing import DocumentUploadForm, DossierStartForm, SchemaForm

# What people call the file types the catalog accepts.
TYPE_NAMES = {
    "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG",
    "application/zip": "ZIP", "application/vnd.openxmlformats-officedocument."
    "wordprocessingml.document": "DOCX",
}


def _dossier(request, dossier_id: int) -> Dossier:
    try:
        return selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
    except DossierNotFound as exc:
        raise Http404 from exc


def _detail_url(dossier: Dossier) -> str:
    return f"/ho-so-cua-toi/{dossier.pk}/"


def _payment_url(dossier: Dossier) -> str:
    return f"/ho-so-cua-toi/{dossier.pk}/thanh-toan/"


def _steps(dossier: Dossier, current: int) -> list[dict]:
    """The wizard's steps: a draft ends with the review, a returned dossier with its documents
    (where it is sent back)."""
    pk = dossier.pk
    items = [
        (_("Điền tờ khai"), reverse("web:applicant:file_form", args=[pk])),
        (_("Tải lên giấy tờ"), reverse("web:applicant:file_documents", args=[pk])),
    ]
    if dossier.state == Dossier.State.DRAFT:
        items.append((_("Xem lại và nộp"), reverse("web:applicant:file_review", args=[pk])))
    elif dossier.state == Dossier.State.AWAITING_SUPPLEMENT:
        items[1] = (_("Tải lên giấy tờ và gửi bổ sung"), items[1][1])
    else:
        items[1] = (_("Tải lên giấy tờ và nộp lại"), items[1][1])
    return [
        {"number": i, "label": label, "href": href, "done": i < current, "current": i == current}
        for i, (label, href) in enumerate(items, start=1)
    ]


def _base(dossier: Dossier, step: int) -> dict:
    return {"dossier": dossier, "procedure": dossier.procedure, "steps": _steps(dossier, step),
            "detail_url": _detail_url(dossier)}


def _error_message(exc: DomainError) -> str:
    """The service's message, with the figures a person needs to put it right."""
    if isinstance(exc, UnsupportedFileType):
        accepted = ", ".join(TYPE_NAMES.get(t, t) for t in exc.extra.get("accepted", ()))
        return _("%(message)s Định dạng được chấp nhận: %(accepted)s.") % {
            "message": exc.message, "accepted": accepted}
    if isinstance(exc, FileTooLarge) and exc.extra.get("max_bytes"):
        return _("%(message)s Tối đa %(mb)s MB mỗi tệp.") % {
            "message": exc.message, "mb": exc.extra["max_bytes"] // (1024 * 1024)}
    return str(exc.message)


# --- the problems that keep a dossier from going to the agency -----------------------------


def _problems(dossier: Dossier) -> list[dict]:
    """`Dossier.submission_problems` (the submission's own checks) in words, each with a link to
    the step that puts it right."""
    pk = dossier.pk
    form_url = reverse("web:applicant:file_form", args=[pk])
    documents_url = reverse("web:applicant:file_documents", args=[pk])
    names = {c.code: c.name for c in dossier.procedure.components.all()}
    found = dossier.submission_problems
    problems = []
    for error in found.get("form", ()):
        name = (error.get("field") or "").split("/", 1)[0]
        problems.append({
            "message": _("Tờ khai: %(message)s") % {"message": error["message"]},
            "href": f"{form_url}?kiem-tra=1" + (f"#id_{name}" if name else ""),
            "link": _("Sửa ở bước 1"),
        })
    for code in found.get("missing_components", ()):
        problems.append({
            "message": _("Chưa tải lên thành phần bắt buộc «%(name)s».") % {
                "name": names.get(code, code)},
            "href": f"{documents_url}#component-{code}", "link": _("Tải lên ở bước 2"),
        })
    words = {
        "pending": _("chữ ký số đang được kiểm tra, vui lòng chờ trong giây lát"),
        "unsigned": _("tệp chưa được ký số"),
        "invalid": _("chữ ký số không hợp lệ"),
        "rejected": _("cán bộ không chấp nhận chữ ký số"),
    }
    for code, problem in (found.get("invalid_signatures") or {}).items():
        problems.append({
            "message": _("Thành phần «%(name)s» phải được ký số hợp lệ: %(problem)s.") % {
                "name": names.get(code, code), "problem": words.get(problem, problem)},
            "href": f"{documents_url}#component-{code}", "link": _("Xem ở bước 2"),
        })
    if found.get("payment_required"):
        problems.append({
            "message": _("Thủ tục thu phí, lệ phí khi nộp hồ sơ: cần thanh toán trước khi nộp."),
            "href": _payment_url(dossier), "link": _("Thanh toán"),
        })
    return problems


# --- step 0: start -------------------------------------------------------------------------


@applicant_required
@require_http_methods(["GET", "POST"])
def file_start(request, procedure_id: int):
    procedure = selectors.procedure_list().filter(pk=procedure_id).first()
    if procedure is None:
        raise Http404
    drafts = selectors.dossier_list_for(user=request.user).filter(
        procedure=procedure, state=Dossier.State.DRAFT
    ).order_by("-updated_at")
    form = DossierStartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            dossier = services.dossier_create(
                actor=request.user, procedure_id=procedure.pk,
                on_behalf_name=form.cleaned_data["on_behalf_name"].strip(),
            )
        except ProcedureNotFound as exc:
            raise Http404 from exc
        messages.success(request, _("Đã tạo hồ sơ nháp. Hãy điền tờ khai."))
        return redirect("web:applicant:file_form", dossier.pk)
    return render(request, "web/applicant/filing/start.html", {
        "procedure": procedure, "drafts": drafts, "form": form,
        "components": procedure.components.all(),
    }, status=400 if form.errors else 200)


# --- step 1: the form ----------------------------------------------------------------------


@applicant_required
@require_http_methods(["GET", "POST"])
def file_form(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    if dossier.state not in EDITABLE_STATES:
        return redirect(_detail_url(dossier))
    procedure: Procedure = dossier.procedure
    schema = procedure.form_schema or {}
    status = 200
    if request.method == "POST":
        form = SchemaForm(request.POST, schema=schema)
        form.is_valid()  # the fields only convert; the schema judges below
        data = form.schema_data()
        go_on = "continue" in request.POST
        errors = procedure.form_errors(data) if go_on else []
        if not errors:
            try:
                services.dossier_update_form(
                    dossier_id=dossier.pk, actor=request.user, form_data=data,
                    version=_int(request.POST.get("version")),
                )
            except InvalidFormData as exc:
                errors = exc.extra.get("errors") or [{"field": "", "message": str(exc.message)}]
            except StaleVersion as exc:
                form.add_error(None, str(exc.message))
        form.add_schema_errors(errors)
        if not form.errors:
            if go_on:
                return redirect("web:applicant:file_documents", dossier.pk)
            messages.success(request, _("Đã lưu tờ khai."))
            return redirect("web:applicant:file_form", dossier.pk)
        status = 400
        version = request.POST.get("version") or dossier.version
    else:
        form = SchemaForm(schema=schema, initial=dossier.form_data or {})
        if request.GET.get("kiem-tra"):
            # Sent here from the review: show what the submission found wrong.
            form = SchemaForm(_as_post(form), schema=schema)
            form.is_valid()
            form.add_schema_errors(procedure.form_errors(dossier.form_data or {}))
        version = dossier.version
    form.mark_invalid()
    return render(request, "web/applicant/filing/form.html", {
        **_base(dossier, 1), "form": form, "version": version,
    }, status=status)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_post(form: SchemaForm) -> dict:
    """A bound copy's data: the initial values as if typed (to run the checks on them)."""
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else str(value)
    return data


# --- step 2: the documents -----------------------------------------------------------------


@dataclass
class ComponentRow:
    """One component of the procedure on the documents page."""

    component: object
    document: Document | None
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.document is not None and self.document.signature_checked_at is None

    @property
    def accepted(self) -> str:
        types = self.component.accepted_types or ["application/pdf"]
        return ", ".join(TYPE_NAMES.get(t, t) for t in types)

    @property
    def accept_attr(self) -> str:
        return ",".join(self.component.accepted_types or ["application/pdf"])

    @property
    def verdict(self) -> dict | None:
        """The signature verdict as the row shows it: label, tone, signers, advice."""
        doc = self.document
        if doc is None or doc.signature_checked_at is None:
            return None
        report = doc.signature_report or {}
        signatures = report.get("signatures") or []
        signers = [s["signer"]["name"] for s in signatures if (s.get("signer") or {}).get("name")]
        advice = []
        for s in signatures:
            tip = s.get("advice") or {}
            line = " ".join(t for t in (tip.get("reason_vi"), tip.get("action_vi")) if t)
            if line and s.get("verdict") != "valid" and line not in advice:
                advice.append(line)
        for item in report.get("review") or ():
            line = item.get("reason_vi")
            if line and line not in advice:
                advice.append(line)
        if doc.signature_decision == "rejected":
            return {"label": _("Cán bộ không chấp nhận chữ ký số"), "tone": "danger",
                    "signers": signers, "advice": advice}
        if not doc.signature_verdict:
            tone = "danger" if self.component.must_be_signed else ""
            return {"label": _("Không có chữ ký số"), "tone": tone, "signers": [], "advice": []}
        tone = {"valid": "ok", "invalid": "danger", "indeterminate": "warn"}[doc.signature_verdict]
        return {"label": doc.get_signature_verdict_display(), "tone": tone, "signers": signers,
                "advice": advice}

    @property
    def signature_error(self) -> str:
        """Why a must-be-signed component's file cannot stand (empty while it is checked)."""
        doc = self.document
        if doc is None or not self.component.must_be_signed:
            return ""
        problem = doc.signature_problem
        if problem == "unsigned":
            return _("Thành phần này phải được ký số: tệp đã tải lên chưa có chữ ký số. Hãy ký "
                     "số tệp rồi tải lên lại.")
        if problem == "invalid":
            return _("Thành phần này phải được ký số hợp lệ: chữ ký số của tệp không hợp lệ. "
                     "Hãy ký lại rồi tải lên lại.")
        if problem == "rejected":
            return _("Cán bộ không chấp nhận chữ ký số của tệp này. Hãy tải lên tệp khác.")
        return ""

    @property
    def can_demo_sign(self) -> bool:
        doc = self.document
        return (
            demo_signing_enabled() and doc is not None
            and doc.content_type == "application/pdf"
            and doc.signature_checked_at is not None and not doc.signature_verdict
        )


def _rows(dossier: Dossier, errors: dict | None = None) -> list[ComponentRow]:
    documents = {d.component_id: d for d in selectors.dossier_documents(dossier=dossier)}
    return [
        ComponentRow(component=c, document=documents.get(c.pk),
                     error=(errors or {}).get(c.code, ""))
        for c in dossier.procedure.components.all()
    ]


def _row(dossier: Dossier, code: str, error: str = "") -> ComponentRow:
    for row in _rows(dossier, {code: error}):
        if row.component.code == code:
            return row
    raise Http404


def _history_request(dossier: Dossier):
    """The agency's last request this dossier answers: supplement or completion."""
    name = {Dossier.State.AWAITING_SUPPLEMENT: "request_supplement",
            Dossier.State.NEEDS_COMPLETION: "return_for_completion"}.get(dossier.state)
    if name is None:
        return None
    return selectors.dossier_history(dossier=dossier).filter(name=name).last()


def _documents_page(request, dossier: Dossier, *, errors: dict | None = None,
                    failure: str = "", status: int = 200):
    rows = _rows(dossier, errors)
    return render(request, "web/applicant/filing/documents.html", {
        **_base(dossier, 2), "rows": rows, "request_row": _history_request(dossier),
        "failure": failure, "problems": _problems(dossier) if failure else [],
        "upload_max_mb": settings.UPLOAD_MAX_FILE_BYTES // (1024 * 1024),
        "demo_signing": demo_signing_enabled(), "editable": dossier.state in EDITABLE_STATES,
    }, status=status)


def _row_response(request, dossier: Dossier, code: str, error: str = ""):
    return render(request, "web/applicant/filing/_document_row.html", {
        "dossier": dossier, "row": _row(dossier, code, error),
        "upload_max_mb": settings.UPLOAD_MAX_FILE_BYTES // (1024 * 1024),
        "editable": dossier.state in EDITABLE_STATES,
    })


@applicant_required
@require_http_methods(["GET", "POST"])
def file_documents(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    if dossier.state not in EDITABLE_STATES:
        return redirect(_detail_url(dossier))
    if request.method == "GET":
        return _documents_page(request, dossier)
    form = DocumentUploadForm(request.POST, request.FILES)
    code = request.POST.get("component", "")
    if not any(c.code == code for c in dossier.procedure.components.all()):
        raise Http404
    error = ""
    if not form.is_valid():
        error = " ".join(form.errors.get("file", [])) or _("Vui lòng chọn tệp để tải lên.")
    else:
        try:
            services.document_upload(
                dossier_id=dossier.pk, actor=request.user, component_code=code,
                uploaded_file=form.cleaned_data["file"],
            )
        except DossierNotFound as exc:
            raise Http404 from exc
        except DomainError as exc:
            error = _error_message(exc)
    if request.htmx:
        return _row_response(request, dossier, code, error)
    if error:
        return _documents_page(request, dossier, errors={code: error}, status=400)
    messages.success(request, _("Đã tải lên tệp."))
    return redirect(reverse("web:applicant:file_documents", args=[dossier.pk])
                    + f"#component-{code}")


@applicant_required
@require_http_methods(["GET"])
def file_document_row(request, dossier_id: int, component_code: str):
    """One component's row: the page polls it while the signature is being checked."""
    dossier = _dossier(request, dossier_id)
    return _row_response(request, dossier, component_code)


@applicant_required
@require_POST
def file_demo_sign(request, dossier_id: int, document_id: int):
    """DEMO ONLY: sign the uploaded PDF with the demo certificate in the applicant's name and
    upload the result as the component's next version (verified like any upload)."""
    if not demo_signing_enabled():
        raise Http404
    dossier = _dossier(request, dossier_id)
    try:
        document = selectors.document_get_for(user=request.user, document_id=document_id)
    except DossierNotFound as exc:
        raise Http404 from exc
    if document.dossier_id != dossier.pk or not document.is_current:
        raise Http404
    code = document.component.code
    error = ""
    try:
        with document.file.open("rb") as handle:
            signed = demo_pdf_sign(content=handle.read(), user=request.user)
        name = document.original_name.rsplit(".", 1)[0] + "-da-ky.pdf"
        services.document_upload(
            dossier_id=dossier.pk, actor=request.user, component_code=code,
            uploaded_file=SimpleUploadedFile(name, signed, "application/pdf"),
        )
    except DomainError as exc:
        error = _error_message(exc)
    if request.htmx:
        return _row_response(request, dossier, code, error)
    if error:
        return _documents_page(request, dossier, errors={code: error}, status=400)
    messages.success(request, _("Đã ký số thử nghiệm (demo) và tải lên bản đã ký."))
    return redirect(reverse("web:applicant:file_documents", args=[dossier.pk])
                    + f"#component-{code}")


def _send_back(request, dossier_id: int, *, service, state: str, done: str):
    dossier = _dossier(request, dossier_id)
    if dossier.state != state:
        return redirect(_detail_url(dossier))
    try:
        service(dossier_id=dossier.pk, actor=request.user,
                version=_int(request.POST.get("version")))
    except DomainError as exc:
        if isinstance(exc, DossierNotFound):
            raise Http404 from exc
        dossier = _dossier(request, dossier_id)
        return _documents_page(request, dossier, failure=str(exc.message), status=400)
    messages.success(request, done)
    return redirect(_detail_url(dossier))


@applicant_required
@require_POST
def file_supply(request, dossier_id: int):
    """Send the supplement the agency asked for (`supply`)."""
    return _send_back(request, dossier_id, service=services.dossier_supply,
                      state=Dossier.State.AWAITING_SUPPLEMENT,
                      done=_("Đã gửi hồ sơ bổ sung. Cơ quan tiếp tục giải quyết hồ sơ."))


@applicant_required
@require_POST
def file_resubmit(request, dossier_id: int):
    """Send the completed dossier back to reception (`resubmit`)."""
    return _send_back(request, dossier_id, service=services.dossier_resubmit,
                      state=Dossier.State.NEEDS_COMPLETION,
                      done=_("Đã nộp lại hồ sơ. Hồ sơ đang chờ tiếp nhận."))


# --- step 3: review and submit -------------------------------------------------------------


def _form_values(procedure: Procedure, data: dict) -> list[dict]:
    values = []
    for name, spec in form_properties(procedure.form_schema):
        value = data.get(name)
        spec = spec or {}
        if isinstance(value, bool):
            value = _("Có") if value else _("Không")
        elif isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        elif isinstance(value, int | float):
            value = _display_number(value)
        elif spec.get("format") == "date" and isinstance(value, str):
            value = _display_date(value)
        values.append({"name": name, "label": (spec or {}).get("title") or name,
                       "value": "" if value is None else value})
    return values


def _display_number(value) -> str:
    """12500000 -> "12.500.000", 12.5 -> "12,5" (as Vietnamese write numbers)."""
    whole, _sep, fraction = f"{value:,}".partition(".")
    whole = whole.replace(",", ".")
    return f"{whole},{fraction}" if fraction else whole


def _display_date(value: str) -> str:
    """ "2025-03-31" -> "31/03/2025"; anything else as typed."""
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


SUBMIT_SCOPE = "submit:{}"


@applicant_required
@require_http_methods(["GET", "POST"])
def file_review(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    if dossier.state != Dossier.State.DRAFT:
        if dossier.state in EDITABLE_STATES:
            return redirect("web:applicant:file_documents", dossier.pk)
        return redirect(_detail_url(dossier))
    failure, status = "", 200
    if request.method == "POST":
        key = (request.POST.get("idempotency_key") or "")[:255]
        scope = SUBMIT_SCOPE.format(dossier.pk)
        fingerprint = services.request_fingerprint(scope=scope, body={"page": "file_review"})
        try:
            if key and services.idempotency_lookup(user=request.user, key=key, scope=scope,
                                                   fingerprint=fingerprint):
                return redirect(_detail_url(dossier) + "?nop=1")  # a second click
            services.dossier_submit(dossier_id=dossier.pk, actor=request.user,
                                    version=_int(request.POST.get("version")))
        except DomainError as exc:
            if isinstance(exc, DossierNotFound):
                raise Http404 from exc
            failure, status = str(exc.message), 400
            dossier = _dossier(request, dossier_id)
        else:
            if key:
                services.idempotency_store(user=request.user, key=key, scope=scope,
                                           fingerprint=fingerprint, status=200,
                                           body={"id": dossier.pk})
            return redirect(_detail_url(dossier) + "?nop=1")
    procedure = dossier.procedure
    return render(request, "web/applicant/filing/review.html", {
        **_base(dossier, 3), "values": _form_values(procedure, dossier.form_data or {}),
        "rows": _rows(dossier), "problems": _problems(dossier), "failure": failure,
        "fee": procedure.fee_vnd, "fee_at_submission": procedure.fee_due_at_submission,
        "fee_paid": dossier.fee_paid, "payment_url": _payment_url(dossier),
        "idempotency_key": uuid.uuid4().hex,
    }, status=status)

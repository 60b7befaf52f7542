"""The slips of Circular 01/2018 (forms 01 to 05), printed from HTML templates to PDF.

Each `slip_<name>_render(*, dossier)` gathers the facts of one form and renders
`dossiers/papers/<name>.html` (an agency may adjust the template); dates are printed in
Vietnam time. The papers are official Vietnamese forms: they print in Vietnamese whatever
language the reader's session uses.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.utils import translation

from portal.papers import date_words, paper_render, place_date, qr_png_data_uri, time_words
from signatures.results import FONT_DIR

from .. import sla
from ..exceptions import InvalidTransition
from ..models import ApologySlip, Document, Dossier, DossierTransition, ProcessStep
from .calendars import calendar_for

RECEPTION_UNIT = "Bộ phận tiếp nhận và trả kết quả"

# What each logged change means on the process-control slip (form 05).
STEP_LABELS = {
    "submit": "Nộp hồ sơ",
    "resubmit": "Nộp lại hồ sơ đã hoàn thiện",
    "return_for_completion": "Yêu cầu hoàn thiện hồ sơ",
    "refuse_at_reception": "Từ chối tiếp nhận hồ sơ",
    "accept": "Tiếp nhận hồ sơ, chuyển xử lý",
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "supply": "Bổ sung hồ sơ",
    "suspend": "Tạm dừng xử lý",
    "resume": "Tiếp tục xử lý",
    "advance_step": "Chuyển bước xử lý",
    "propose": "Trình phê duyệt",
    "send_back": "Trả lại để xử lý lại",
    "approve": "Phê duyệt",
    "refuse": "Từ chối giải quyết",
    "issue_result": "Ban hành kết quả",
    "return_result": "Trả kết quả",
    "withdraw": "Rút hồ sơ",
    "reschedule": "Hẹn lại ngày trả kết quả",
    "retime": "Điều chỉnh ngày hẹn do lịch làm việc thay đổi",
}
OUTCOME_LABELS = {sla.EARLY: "Trước hạn", sla.ON_TIME: "Đúng hạn", sla.LATE: "Quá hạn"}


def paper_place() -> str:
    """The place written before the date on the papers (the province of the agency)."""
    return getattr(settings, "PAPERS_PLACE", "") or "Quảng Trị"


def lookup_url(dossier: Dossier) -> str:
    """The public status page of the dossier, the QR code of the receipt points to it."""
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{base}/tra-cuu/?{urlencode({'code': dossier.code or ''})}"


def _days(value: Decimal) -> str:
    text = f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
    return text.replace(".", ",")


@dataclass(frozen=True)
class ComponentLine:
    name: str
    form: str  # original / copy and medium
    count: int
    file: str


def _component_form(document: Document) -> str:
    """How the paper was handed in: the catalog does not record original or copy, so the
    name says it when it is a copy; the medium is known from how the file came in."""
    name = document.component.name.lower()
    kind = "Bản sao" if "bản sao" in name else ("Bản chụp" if "bản chụp" in name else "")
    if document.reuse_source:
        medium = "tái sử dụng dữ liệu số hóa"
    elif document.digitized:
        medium = "bản giấy, đã số hóa"
    elif document.signature_verdict == Document.Verdict.VALID:
        medium = "bản điện tử có chữ ký số"
    else:
        medium = "bản điện tử"
    return f"{kind} ({medium})" if kind else medium[0].upper() + medium[1:]


def _components(dossier: Dossier) -> list[ComponentLine]:
    documents = (
        Document.objects.filter(dossier=dossier, is_current=True)
        .select_related("component").order_by("component__order", "component_id")
    )
    return [
        ComponentLine(name=d.component.name, form=_component_form(d), count=1,
                      file=f"{d.original_name} (bản {d.version})")
        for d in documents
    ]


def _applicant(dossier: Dossier) -> dict:
    user = dossier.applicant
    ids = []
    if user.tax_code:
        ids.append(("Mã số thuế", user.tax_code))
    if user.citizen_id:
        ids.append(("Số CCCD", user.citizen_id))
    if dossier.on_behalf_name:
        ids.append(("Người được ủy quyền", dossier.on_behalf_name))
    if user.phone:
        ids.append(("Điện thoại", user.phone))
    if user.email:
        ids.append(("Email", user.email))
    return {"name": user.display_name, "facts": ids}


def _last(dossier: Dossier, *names: str) -> DossierTransition | None:
    return (DossierTransition.objects.filter(dossier=dossier, name__in=names)
            .order_by("-id").first())


def _base_context(dossier: Dossier, *, issued_at: datetime | None) -> dict:
    procedure = dossier.procedure
    return {
        "dossier": dossier,
        "code": dossier.code or "",
        "reception_agency": dossier.reception_agency.name,
        "handling_agency": dossier.handling_agency.name,
        "reception_unit": RECEPTION_UNIT,
        "applicant": _applicant(dossier),
        "procedure": procedure.name,
        "procedure_code": procedure.national_code,
        "channel": dossier.get_channel_display(),
        "place_date": place_date(paper_place(), issued_at) if issued_at else "",
    }


def _in_vietnamese(render):
    """The papers are official Vietnamese forms: every label and value is taken in Vietnamese,
    whatever language the request or worker thread has active."""

    @functools.wraps(render)
    def wrapper(*args, **kwargs):
        with translation.override("vi"):
            return render(*args, **kwargs)

    return wrapper


def _render(template: str, context: dict) -> bytes:
    with translation.override("vi"):
        return paper_render(template=f"dossiers/papers/{template}.html", context=context,
                            font_dir=FONT_DIR).content


def _dossier(dossier: Dossier) -> Dossier:
    return (Dossier.objects.select_related("procedure", "applicant", "reception_agency",
                                           "handling_agency").get(pk=dossier.pk))


# --- form 01: receipt and appointment -------------------------------------------------------


@_in_vietnamese
def slip_receipt_render(*, dossier: Dossier) -> bytes:
    """Form 01: what was received, when, by whom, and the appointment to return the result."""
    if dossier.received_at is None:
        raise InvalidTransition(
            "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận và hẹn trả kết quả.",
            extra={"state": dossier.state},
        )
    dossier = _dossier(dossier)
    accepted = _last(dossier, "accept")
    url = lookup_url(dossier)
    procedure = dossier.procedure
    context = {
        **_base_context(dossier, issued_at=dossier.received_at),
        "components": _components(dossier),
        "legal_time": f"{_days(procedure.processing_days)} "
                      f"{procedure.get_duration_kind_display().lower()}",
        "received_at": time_words(dossier.received_at),
        "due_at": time_words(dossier.due_at),
        "new_appointment_at": (time_words(dossier.new_appointment_at)
                               if dossier.new_appointment_at else ""),
        "officer": accepted.actor_label if accepted else "",
        "lookup_url": url,
        "lookup_secret": dossier.lookup_secret,
        "qr": qr_png_data_uri(url),
    }
    return _render("receipt", context)


# --- form 02: supplement or completion request ------------------------------------------------


def _items(text: str) -> list[str]:
    """The numbered things to supply: one per line of the reason, list marks dropped."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-•*+").strip()
        head, dot, rest = line.partition(".")
        if dot and head.isdigit() and rest.strip():
            line = rest.strip()
        if line:
            items.append(line)
    return items


@_in_vietnamese
def slip_supplement_render(*, dossier: Dossier) -> bytes:
    """Form 02: what the applicant must supply or complete, from the last such request."""
    dossier = _dossier(dossier)
    row = _last(dossier, "request_supplement", "return_for_completion")
    if row is None:
        raise InvalidTransition(
            "Hồ sơ chưa có yêu cầu bổ sung, hoàn thiện.", extra={"state": dossier.state})
    at_reception = row.name == "return_for_completion"
    context = {
        **_base_context(dossier, issued_at=row.at),
        "at_reception": at_reception,
        "issuer": dossier.reception_agency.name if at_reception else dossier.handling_agency.name,
        "items": _items(row.reason),
        "officer": row.actor_label,
        "received_at": time_words(dossier.received_at) if dossier.received_at else "",
        "submitted_at": time_words(dossier.submitted_at) if dossier.submitted_at else "",
    }
    return _render("supplement", context)


# --- form 03: refusal to receive --------------------------------------------------------------


@_in_vietnamese
def slip_refusal_render(*, dossier: Dossier) -> bytes:
    """Form 03: the reception desk refuses the dossier, with the reason."""
    dossier = _dossier(dossier)
    row = _last(dossier, "refuse_at_reception")
    if row is None:
        raise InvalidTransition(
            "Hồ sơ không bị từ chối tiếp nhận.", extra={"state": dossier.state})
    context = {
        **_base_context(dossier, issued_at=row.at),
        "reason": row.reason,
        "officer": row.actor_label,
        "submitted_at": time_words(dossier.submitted_at) if dossier.submitted_at else "",
    }
    return _render("refusal", context)


# --- form 04: apology and new appointment -----------------------------------------------------


@_in_vietnamese
def slip_apology_render(*, dossier: Dossier) -> bytes:
    """Form 04: the agency apologises for the delay and sets the new appointment."""
    dossier = _dossier(dossier)
    slip = (ApologySlip.objects.select_related("drafted_by", "approved_by")
            .filter(dossier=dossier).first())
    if slip is None:
        raise InvalidTransition(
            "Hồ sơ chưa có phiếu xin lỗi và hẹn lại.", extra={"state": dossier.state})
    approved = slip.status == ApologySlip.Status.APPROVED
    context = {
        **_base_context(dossier, issued_at=slip.approved_at or slip.created_at),
        "draft": not approved,
        "received_on": (date_words(dossier.received_at).capitalize()
                        if dossier.received_at else ""),
        "original_due_at": time_words(slip.original_due_at),
        "new_appointment_at": time_words(slip.new_appointment_at),
        "reason": slip.reason,
        "signer": (slip.approved_by.display_name if approved and slip.approved_by else ""),
    }
    return _render("apology", context)


# --- form 05: process control -----------------------------------------------------------------


@dataclass(frozen=True)
class ControlRow:
    what: str
    step: str
    at: str
    actor: str
    timeliness: str
    note: str


def _control_rows(dossier: Dossier) -> list[ControlRow]:
    steps = {s.code: s for s in ProcessStep.objects.filter(procedure=dossier.procedure)}
    calendar = calendar_for(dossier.handling_agency)
    rows, step_due, step = [], None, ""
    for row in DossierTransition.objects.filter(dossier=dossier).order_by("id"):
        details = row.details or {}
        timeliness = ""
        if details.get("outcome"):
            timeliness = OUTCOME_LABELS.get(details["outcome"], "")
        elif step_due is not None and row.name in ("advance_step", "propose", "approve"):
            timeliness = OUTCOME_LABELS[sla.outcome(row.at, step_due, calendar)]
        # The due time of the step the dossier is in from this row on: logged when a step
        # is entered by a handover, or computed the way `steps.step_enter` did at reception.
        if details.get("step_due_at"):
            step_due = datetime.fromisoformat(details["step_due_at"])
        elif row.step != step:
            entered = steps.get(row.step)
            step_due = (sla.due_at(row.at, entered.budget_days, calendar,
                                   kind=dossier.procedure.duration_kind) if entered else None)
        step = row.step
        rows.append(ControlRow(
            what=STEP_LABELS.get(row.name, row.name),
            step=steps[row.step].name if row.step in steps else "",
            at=time_words(row.at), actor=row.actor_label, timeliness=timeliness,
            note=row.reason,
        ))
    return rows


@_in_vietnamese
def slip_control_render(*, dossier: Dossier) -> bytes:
    """Form 05: each handover of the dossier, when, by whom, and whether it was on time."""
    dossier = _dossier(dossier)
    if not dossier.code:
        raise InvalidTransition("Hồ sơ chưa được nộp.", extra={"state": dossier.state})
    context = {
        **_base_context(dossier, issued_at=None),
        "rows": _control_rows(dossier),
        "received_at": time_words(dossier.received_at) if dossier.received_at else "",
        "due_at": time_words(dossier.due_at) if dossier.due_at else "",
    }
    return _render("control", context)

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

from portal.papers import (
    date_words,
    paper_render,
    place_date,
    qr_png_data_uri,
    time_words,
    vn_local,
)
from signatures.results import FONT_DIR

from .. import sla
from ..exceptions import InvalidTransition
from ..models import (
    ApologySlip,
    Document,
    Dossier,
    DossierTransition,
    ProcessStep,
    StepRecord,
    SupplementRequest,
)
from .calendars import calendar_for
from .supplements import EXPIRED, supplement_items

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
    EXPIRED: "Quá hạn bổ sung hồ sơ",
    "register": "Tiếp nhận hồ sơ giấy tại Bộ phận Một cửa",
    "hand_over": "Chuyển hồ sơ điện tử cho cơ quan giải quyết",
    "hand_over_refusal": "Trả văn bản từ chối giải quyết",
    "return_unanswered": "Trả lại hồ sơ do quá hạn bổ sung",
    "refuse_unanswered": "Từ chối giải quyết do quá hạn bổ sung",
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
    url = lookup_url(dossier)
    return {
        "lookup_url": url,
        "qr": qr_png_data_uri(url),
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
        "lookup_secret": dossier.lookup_secret,
    }
    return _render("receipt", context)


# --- form 02: supplement or completion request ------------------------------------------------


@_in_vietnamese
def slip_supplement_render(*, dossier: Dossier) -> bytes:
    """Form 02: what the applicant must supply or complete, from the last such request."""
    dossier = _dossier(dossier)
    row = _last(dossier, "request_supplement", "return_for_completion")
    if row is None:
        raise InvalidTransition(
            "Hồ sơ chưa có yêu cầu bổ sung, hoàn thiện.", extra={"state": dossier.state})
    at_reception = row.name == "return_for_completion"
    request = None if at_reception else (
        SupplementRequest.objects.filter(dossier=dossier).order_by("-requested_at", "-id").first())
    context = {
        **_base_context(dossier, issued_at=row.at),
        "at_reception": at_reception,
        "issuer": dossier.reception_agency.name if at_reception else dossier.handling_agency.name,
        "items": (request.items if request and request.items else supplement_items(row.reason)),
        "reply_by": time_words(request.reply_by) if request else "",
        "lookup_secret": dossier.lookup_secret,
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
        "lookup_secret": dossier.lookup_secret,
        "submitted_at": time_words(dossier.submitted_at) if dossier.submitted_at else "",
    }
    return _render("refusal", context)


# --- form 04: apology and new appointment -----------------------------------------------------


@_in_vietnamese
def slip_apology_render(*, dossier: Dossier, draft_allowed: bool = True) -> bytes:
    """Form 04: the agency apologises for the delay and sets the new appointment (a draft is
    printed marked as such, for the officers only: `draft_allowed`)."""
    dossier = _dossier(dossier)
    slip = (ApologySlip.objects.select_related("drafted_by", "approved_by")
            .filter(dossier=dossier).first())
    if slip is None or (not draft_allowed and slip.status != ApologySlip.Status.APPROVED):
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
        "lookup_secret": dossier.lookup_secret,
    }
    return _render("apology", context)


# --- form 05: process control -----------------------------------------------------------------


@dataclass(frozen=True)
class ControlRow:
    what: str
    step: str
    at: str
    giver: str
    taker: str
    due: str
    timeliness: str
    note: str


def _short(value: datetime | None) -> str:
    """`08:30 01/12/2026` in Vietnam time: the table of form 05 has narrow columns."""
    return vn_local(value).strftime("%H:%M %d/%m/%Y") if value else ""


def _name(user) -> str:
    return user.display_name if user is not None else ""


# The moves that finish the handling: their result is the dossier's against its due time.
FINISHING = ("refuse", "refuse_unanswered", "issue_result")
# The moves that bring the dossier to the desk that receives it: the reception step starts.
ARRIVALS = ("submit", "resubmit", "register", "hand_over")
# Printed under the table: what the due time of each row is, and the reception step's.
CONTROL_NOTE = (
    "Hạn xử lý và kết quả của mỗi dòng là của bước do bên giao thực hiện; khi nộp hồ sơ, người "
    "nộp không có hạn xử lý. Bước tiếp nhận: Bộ phận tiếp nhận và trả kết quả chuyển hồ sơ "
    "trong ngày làm việc nhận hồ sơ, nếu nhận sau 15 giờ thì chậm nhất hết buổi làm việc đầu "
    "tiên của ngày làm việc tiếp theo (Nghị định 61/2018/NĐ-CP, Điều 19)."
)


def _control_rows(dossier: Dossier) -> list[ControlRow]:
    """One row per logged change: a handover names who gave and who took the dossier, the due
    time of the step it closed and how that step ended (kept in the step history)."""
    steps = {s.code: s for s in ProcessStep.objects.filter(procedure=dossier.procedure)}
    records = list(StepRecord.objects.filter(dossier=dossier)
                   .select_related("step", "handed_by", "taken_by").order_by("started_at", "id"))
    started = {r.started_at: r for r in records}
    ended = {r.ended_at: r for r in records if r.ended_at}
    rows = []
    arrived = None
    calendar = None
    for row in DossierTransition.objects.filter(dossier=dossier).order_by("id"):
        closed, opened = ended.get(row.at), started.get(row.at)
        timeliness, due = "", ""
        if row.name in ARRIVALS:
            arrived = row.at
        if row.name == "accept" and arrived is not None:
            # The reception step: from the dossier's arrival at the desk to its handover.
            calendar = calendar or calendar_for(dossier.handling_agency)
            reception_due = sla.reception_due(arrived, calendar)
            due = _short(reception_due)
            timeliness = OUTCOME_LABELS[sla.outcome(
                row.at, reception_due, calendar, rule=dossier.handling_agency.outcome_rule)]
        elif row.name in FINISHING and dossier.outcome:
            timeliness = OUTCOME_LABELS.get(dossier.outcome, "")
            due = _short(dossier.due_at)
        elif closed is not None:
            timeliness = OUTCOME_LABELS.get(closed.outcome, "")
            due = _short(closed.due_at)
        taker = ""
        if row.name in ("submit", "resubmit"):
            taker = RECEPTION_UNIT
        elif row.name == "return_result":
            taker = dossier.applicant.display_name
        elif opened is not None:
            taker = _name(opened.taken_by) or f"{opened.step.name} ({opened.step.get_role_display()})"
        rows.append(ControlRow(
            what=STEP_LABELS.get(row.name, row.name),
            step=steps[row.step].name if row.step in steps else "",
            at=_short(row.at), giver=row.actor_label, taker=taker, due=due,
            timeliness=timeliness, note=row.reason,
        ))
    return rows


@_in_vietnamese
def slip_control_render(*, dossier: Dossier) -> bytes:
    """Form 05: each handover of the dossier, when, who gave it and who took it, the due time
    of the step and whether it was done early, on time or late."""
    dossier = _dossier(dossier)
    if not dossier.code:
        raise InvalidTransition("Hồ sơ chưa được nộp.", extra={"state": dossier.state})
    context = {
        **_base_context(dossier, issued_at=None),
        "rows": _control_rows(dossier),
        "note": CONTROL_NOTE,
        "received_at": time_words(dossier.received_at) if dossier.received_at else "",
        "due_at": time_words(dossier.due_at) if dossier.due_at else "",
    }
    return _render("control", context)


# --- which slips a dossier has ------------------------------------------------------------------

# The endpoint names of the five forms, in the Circular's order.
SLIP_NAMES = ("receipt", "completion", "refusal", "apology", "control")
SLIP_TITLES = {
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "completion": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "refusal": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "apology": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "control": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}
SLIP_FILES = {"receipt": "tiep-nhan", "completion": "bo-sung", "refusal": "tu-choi",
              "apology": "xin-loi", "control": "kiem-soat"}


def slips_available(*, dossier: Dossier, officer: bool) -> list[str]:
    """The slips the dossier has now, by name (what a page links to): three cheap queries."""
    names = []
    if dossier.received_at is not None:
        names.append("receipt")
    logged = set(DossierTransition.objects.filter(
        dossier=dossier, name__in=("request_supplement", "return_for_completion",
                                   "refuse_at_reception")).values_list("name", flat=True))
    if logged & {"request_supplement", "return_for_completion"}:
        names.append("completion")
    if "refuse_at_reception" in logged:
        names.append("refusal")
    apology = ApologySlip.objects.filter(dossier=dossier).values_list("status", flat=True).first()
    if apology == ApologySlip.Status.APPROVED or (apology and officer):
        names.append("apology")
    if dossier.received_at is not None:
        names.append("control")
    return names


def slip_render(*, dossier: Dossier, name: str, officer: bool) -> bytes:
    """The PDF of slip `name` of the dossier; 409 when the dossier has no such slip (yet)."""
    if name == "receipt":
        return slip_receipt_render(dossier=dossier)
    if name == "completion":
        return slip_supplement_render(dossier=dossier)
    if name == "refusal":
        return slip_refusal_render(dossier=dossier)
    if name == "apology":
        return slip_apology_render(dossier=dossier, draft_allowed=officer)
    if name == "control":
        if dossier.received_at is None:
            raise InvalidTransition(
                "Hồ sơ chưa được tiếp nhận nên chưa có phiếu kiểm soát quá trình giải quyết.",
                extra={"state": dossier.state})
        return slip_control_render(dossier=dossier)
    raise ValueError(f"no such slip: {name}")

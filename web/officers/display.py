"""How the officers' pages word and arrange what the dossier services answer: the moves an
officer may make now, the form data under its schema titles, the signature reports, the clock.
Nothing here decides a rule; each check is the service's own (`check_move`, the model's
conditions, `review_reasons`)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_fsm import can_proceed

from dossiers import services, sla
from dossiers.exceptions import (
    InvalidTransition,
    SupplementExpiryOtherAction,
    SupplementNotLapsed,
)
from dossiers.models import Document, Dossier, form_properties
from dossiers.services.transitions import REASON_REQUIRED, SPECS, check_move, condition_failure
from portal.exceptions import DomainError
from portal.roles import Role
from signatures.report import review_reasons

# The moves an officer makes, in the order the buttons show, with their labels and tone.
OFFICER_MOVES: dict[str, tuple] = {
    "accept": (gettext_lazy("Tiếp nhận hồ sơ"), "success"),
    "return_for_completion": (gettext_lazy("Yêu cầu hoàn thiện hồ sơ"), "secondary"),
    "refuse_at_reception": (gettext_lazy("Từ chối tiếp nhận"), "danger"),
    "advance_step": (gettext_lazy("Chuyển bước tiếp theo"), ""),
    "propose": (gettext_lazy("Trình lãnh đạo phê duyệt"), ""),
    "request_supplement": (gettext_lazy("Yêu cầu bổ sung hồ sơ"), "secondary"),
    "suspend": (gettext_lazy("Tạm dừng xử lý"), "secondary"),
    "resume": (gettext_lazy("Tiếp tục xử lý"), ""),
    "approve": (gettext_lazy("Phê duyệt"), "success"),
    "send_back": (gettext_lazy("Trả lại chuyên viên xử lý lại"), "secondary"),
    "refuse": (gettext_lazy("Từ chối giải quyết"), "danger"),
    "issue_result": (gettext_lazy("Ban hành kết quả"), "success"),
    "return_result": (gettext_lazy("Trả kết quả cho người nộp"), "success"),
    "return_unanswered": (gettext_lazy("Trả lại hồ sơ do quá hạn bổ sung"), "danger"),
    "refuse_unanswered": (gettext_lazy("Từ chối giải quyết do quá hạn bổ sung"), "danger"),
}

# How the timeline names each logged move.
HISTORY_LABELS = {
    "submit": gettext_lazy("Nộp hồ sơ"),
    "resubmit": gettext_lazy("Nộp lại hồ sơ đã hoàn thiện"),
    "return_for_completion": gettext_lazy("Yêu cầu hoàn thiện hồ sơ"),
    "refuse_at_reception": gettext_lazy("Từ chối tiếp nhận"),
    "accept": gettext_lazy("Tiếp nhận hồ sơ"),
    "request_supplement": gettext_lazy("Yêu cầu bổ sung hồ sơ"),
    "supply": gettext_lazy("Người nộp đã bổ sung hồ sơ"),
    "suspend": gettext_lazy("Tạm dừng xử lý"),
    "resume": gettext_lazy("Tiếp tục xử lý"),
    "advance_step": gettext_lazy("Chuyển bước xử lý"),
    "propose": gettext_lazy("Trình phê duyệt"),
    "send_back": gettext_lazy("Trả lại xử lý lại"),
    "approve": gettext_lazy("Phê duyệt"),
    "refuse": gettext_lazy("Từ chối giải quyết"),
    "issue_result": gettext_lazy("Ban hành kết quả"),
    "return_result": gettext_lazy("Trả kết quả"),
    "withdraw": gettext_lazy("Người nộp rút hồ sơ"),
    "reschedule": gettext_lazy("Hẹn lại ngày trả kết quả (phiếu xin lỗi)"),
    "retime": gettext_lazy("Điều chỉnh ngày hẹn do lịch làm việc thay đổi"),
    "register": gettext_lazy("Tiếp nhận hồ sơ giấy tại Bộ phận Một cửa"),
    "hand_over": gettext_lazy("Chuyển hồ sơ điện tử cho cơ quan giải quyết"),
    "hand_over_refusal": gettext_lazy("Trả văn bản từ chối giải quyết"),
    "supplement_expired": gettext_lazy("Quá hạn bổ sung hồ sơ"),
    "return_unanswered": gettext_lazy("Trả lại hồ sơ do quá hạn bổ sung"),
    "refuse_unanswered": gettext_lazy("Từ chối giải quyết do quá hạn bổ sung"),
}

VERDICT_TONES = {"valid": "ok", "invalid": "danger", "indeterminate": "warn"}


@dataclass
class Move:
    name: str
    label: str
    tone: str
    reason: str  # required / optional / none
    form: object = None
    open: bool = False

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")

    @property
    def has_fields(self) -> bool:
        return self.form is not None and len(self.form.fields) > 1

    @property
    def reason_required(self) -> bool:
        return self.reason == REASON_REQUIRED


@dataclass
class Blocked:
    label: str
    why: str


@dataclass
class Moves:
    allowed: list[Move] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


def moves_for(dossier: Dossier, user) -> Moves:
    """The moves this officer may make on the dossier now: the same checks the transition
    service runs (state, role and agency, then the model's conditions). A move the officer
    holds but whose condition fails is listed with the reason, without a button."""
    found = Moves()
    for name, (label, tone) in OFFICER_MOVES.items():
        try:
            check_move(dossier, name=name, actor=user, version=None)
        except DomainError:
            continue
        if can_proceed(getattr(dossier, name)):
            found.allowed.append(Move(name, str(label), tone, SPECS[name].reason))
        else:
            failure = condition_failure(dossier, name)
            # A bare InvalidTransition means the move does not apply here (no next step of
            # the same role...): nothing the officer can act on, so it is not listed; nor
            # are the moves after an unanswered supplement before the deadline or when the
            # procedure names the other one.
            if type(failure) not in (InvalidTransition, SupplementNotLapsed,
                                     SupplementExpiryOtherAction):
                found.blocked.append(Blocked(str(label), str(failure.message)))
    return found


def form_rows(dossier: Dossier) -> list[tuple[str, object]]:
    """The form data as (label, value), labelled by the schema's titles, in schema order."""
    schema = dossier.procedure.form_schema or {}
    properties = schema.get("properties") or {}
    data = dossier.form_data or {}
    rows = []
    for key, prop in form_properties(schema):
        if key in data:
            value = data[key]
            if prop.get("format") == "date" and isinstance(value, str):
                parsed = parse_date(value)
                value = parsed.strftime("%d/%m/%Y") if parsed else value
            rows.append((prop.get("title") or key, _value(value)))
    rows.extend((key, _value(value)) for key, value in data.items() if key not in properties)
    return rows


def _value(value) -> str:
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return "—" if value in (None, "") else str(value)


@dataclass
class SignatureRow:
    signer: str
    organisation: str
    identifiers: str
    verdict: str
    verdict_label: str
    tone: str
    signed_at: datetime | None
    timestamped: bool
    matches_applicant: bool | None
    detail: str


def signature_rows(document) -> list[SignatureRow]:
    """Each signature of a document's stored verification report, ready to print."""
    rows = []
    labels = dict(Document.Verdict.choices)
    for sig in (document.signature_report or {}).get("signatures") or []:
        signer = sig.get("signer") or {}
        ids = [f"MST {signer['tax_code']}" if signer.get("tax_code") else "",
               f"CCCD {signer['citizen_id']}" if signer.get("citizen_id") else ""]
        when = sig.get("timestamp_time") or sig.get("signing_time")
        verdict = sig.get("verdict") or ""
        rows.append(SignatureRow(
            signer=signer.get("name") or _("(không đọc được tên)"),
            organisation=signer.get("organisation") or "",
            identifiers=", ".join(i for i in ids if i),
            verdict=verdict, verdict_label=str(labels.get(verdict, verdict or "—")),
            tone=VERDICT_TONES.get(verdict, ""),
            signed_at=parse_datetime(when) if when else None,
            timestamped=bool(sig.get("timestamp_time")),
            matches_applicant=sig.get("matches_applicant"),
            detail=sig.get("sub_indication") or "",
        ))
    return rows


@dataclass
class DocumentView:
    document: object
    signatures: list[SignatureRow]
    verdict_label: str
    tone: str
    needs_decision: bool
    decision_label: str
    form: object = None
    open: bool = False


def document_views(documents, user) -> list[DocumentView]:
    labels = dict(Document.Verdict.choices)
    may_decide = user.has_role(Role.RECEPTION, Role.SPECIALIST, Role.LEADER)
    views = []
    for doc in documents:
        reasons = review_reasons(verdict=doc.signature_verdict, report=doc.signature_report)
        if doc.signature_checked_at is None:
            verdict_label = _("Đang kiểm tra chữ ký số")
        elif not doc.signature_verdict:
            verdict_label = _("Không có chữ ký số")
        else:
            verdict_label = str(labels.get(doc.signature_verdict, doc.signature_verdict))
        views.append(DocumentView(
            document=doc, signatures=signature_rows(doc), verdict_label=verdict_label,
            tone=VERDICT_TONES.get(doc.signature_verdict, ""),
            needs_decision=bool(reasons) and may_decide and not doc.signature_decision,
            decision_label=doc.get_signature_decision_display() if doc.signature_decision
            else "",
        ))
    return views


@dataclass
class Clock:
    due_at: datetime | None
    new_appointment_at: datetime | None
    running: bool
    paused: bool
    overdue: bool
    due_soon: bool
    days_left: float | None  # working days, negative when overdue
    minutes_left: float | None  # the same in working minutes
    step_due_at: datetime | None


def clock_for(dossier: Dossier, now: datetime) -> Clock:
    """The dossier's due time and the working time left, on the agency's calendar."""
    running = dossier.state in Dossier.IN_PROGRESS_STATES and dossier.due_at is not None
    days_left = minutes_left = None
    if running:
        calendar = services.calendar_for(dossier.handling_agency)
        start = dossier.paused_at or now
        try:
            days_left = float(calendar.working_days_between(start, dossier.due_at))
            minutes_left = calendar.working_minutes_between(start, dossier.due_at)
        except sla.NoWorkingDay:
            days_left = minutes_left = None
    paused = running and dossier.paused_at is not None
    overdue = running and not paused and dossier.due_at < now
    due_soon = (running and not paused and not overdue and dossier.due_soon_at is not None
                and dossier.due_soon_at <= now)
    return Clock(due_at=dossier.due_at, new_appointment_at=dossier.new_appointment_at,
                 running=running, paused=paused, overdue=overdue, due_soon=due_soon,
                 days_left=days_left, minutes_left=minutes_left,
                 step_due_at=dossier.step_due_at)


def working_time_text(clock: Clock) -> str:
    """1.5 days, 720 minutes -> "1,5 ngày làm việc (12 giờ 0 phút)"."""
    days = abs(clock.days_left or 0)
    minutes = int(round(abs(clock.minutes_left or 0)))
    shown = f"{days:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return _("%(days)s ngày làm việc (%(hours)s giờ %(minutes)s phút)") % {
        "days": shown, "hours": minutes // 60, "minutes": minutes % 60,
    }

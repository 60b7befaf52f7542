"""The applicant's filed dossiers: the list, the dossier page and its papers, the fee and its
payment, withdrawal and rating. Each view reads through the scoping selectors and changes
things only through the dossier services; a service's refusal becomes a message on the page."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from django_fsm import can_proceed, has_transition_perm

from dossiers import selectors, services
from dossiers.exceptions import (
    DossierNotFound,
    PaymentMismatch,
    PaymentNotFound,
    PaymentRequired,
    ReasonRequired,
)
from dossiers.models import Dossier, Payment
from dossiers.services.payments import payment_payable, payment_refresh_for
from dossiers.services.queue import rating_allowed
from dossiers.services.transitions import SPECS
from portal import clock
from portal.downloads import bytes_download
from portal.exceptions import DomainError

from ..access import applicant_required
from ..csp import payment_form_action
from ..files import private_file
from ..slips import SLIP_LABELS, slip_links, slip_response
from .forms_dossier import SCORE_LABELS, RatingForm, WithdrawForm

S = Dossier.State
PAGE_SIZE = 20

# The filters of the list: address value -> (label, states).
STATE_GROUPS: dict[str, tuple] = {
    "dang-soan": (gettext_lazy("Đang soạn"), (S.DRAFT,)),
    "dang-xu-ly": (gettext_lazy("Đang xử lý"), (
        S.SUBMITTED, S.PROCESSING, S.SUSPENDED, S.PENDING_APPROVAL, S.APPROVED)),
    "can-bo-sung": (gettext_lazy("Cần bổ sung"), (S.NEEDS_COMPLETION, S.AWAITING_SUPPLEMENT)),
    "da-co-ket-qua": (gettext_lazy("Đã có kết quả"), (
        S.RESULT_READY, S.RETURNED, S.REFUSED, S.REJECTED, S.RETURNED_UNANSWERED)),
    "da-rut": (gettext_lazy("Đã rút"), (S.WITHDRAWN,)),
}

# How the applicant's timeline names each move.
MOVE_LABELS = {
    "submit": gettext_lazy("Nộp hồ sơ"),
    "resubmit": gettext_lazy("Nộp lại hồ sơ đã hoàn thiện"),
    "return_for_completion": gettext_lazy("Bộ phận Một cửa yêu cầu hoàn thiện hồ sơ"),
    "refuse_at_reception": gettext_lazy("Từ chối tiếp nhận hồ sơ"),
    "accept": gettext_lazy("Đã tiếp nhận hồ sơ"),
    "request_supplement": gettext_lazy("Yêu cầu bổ sung hồ sơ"),
    "supply": gettext_lazy("Đã bổ sung hồ sơ"),
    "suspend": gettext_lazy("Tạm dừng xử lý"),
    "resume": gettext_lazy("Tiếp tục xử lý"),
    "refuse": gettext_lazy("Từ chối giải quyết"),
    "issue_result": gettext_lazy("Đã có kết quả giải quyết"),
    "return_result": gettext_lazy("Đã trả kết quả"),
    "withdraw": gettext_lazy("Rút hồ sơ"),
    "return_unanswered": gettext_lazy("Trả lại hồ sơ do quá hạn bổ sung"),
    "refuse_unanswered": gettext_lazy("Từ chối giải quyết do quá hạn bổ sung"),
}

# The outcome of a payment as the applicant reads it: (tone, heading).
PAYMENT_OUTCOMES = {
    Payment.Status.PAID: ("success", gettext_lazy("Thanh toán thành công")),
    Payment.Status.OVERPAID: ("success", gettext_lazy("Thanh toán thành công")),
    Payment.Status.PENDING: ("warning", gettext_lazy("Đang chờ xác nhận")),
    Payment.Status.FAILED: ("error", gettext_lazy("Thanh toán không thành công")),
    Payment.Status.REFUNDED: ("error", gettext_lazy("Thanh toán không thành công")),
}


# --- what the applicant is expected to do ----------------------------------------------


@dataclass
class Action:
    label: str
    url: str
    primary: bool = True


@dataclass
class Expectation:
    text: str
    actions: list[Action] = field(default_factory=list)


def _url(name: str, dossier: Dossier, suffix: str = "") -> str:
    return reverse(f"web:applicant:{name}", args=[dossier.pk]) + suffix


def _filing_url(dossier: Dossier, page: str) -> str:
    """Pages of the filing wizard (drafting, documents), kept by the filing area."""
    return f"/ho-so-cua-toi/{dossier.pk}/{page}/"


def expectation_for(dossier: Dossier) -> Expectation:
    """What is expected of the applicant now, in plain words, with the link to do it."""
    detail = _url("dossier", dossier)
    pay = Action(_("Thanh toán phí"), _url("pay", dossier))
    fee_open = payment_payable(dossier)
    state = dossier.state
    if state == S.DRAFT:
        actions = [Action(_("Tiếp tục soạn"), _filing_url(dossier, "soan"))]
        if fee_open and dossier.procedure.fee_due_at_submission:
            actions.append(pay)
            return Expectation(_("Hồ sơ chưa nộp. Hoàn thành tờ khai, giấy tờ và nộp phí, lệ "
                                 "phí rồi nộp hồ sơ."), actions)
        return Expectation(_("Hồ sơ chưa nộp. Hoàn thành tờ khai và giấy tờ rồi nộp hồ sơ."),
                           actions)
    if state in (S.NEEDS_COMPLETION, S.AWAITING_SUPPLEMENT):
        text = (_("Bộ phận Một cửa yêu cầu hoàn thiện hồ sơ.") if state == S.NEEDS_COMPLETION
                else _("Cơ quan giải quyết yêu cầu bổ sung hồ sơ."))
        if dossier.reason:
            asked = _("Nội dung yêu cầu:")  # outside the f-string: xgettext skips f-strings
            text = f"{text} {asked} {dossier.reason}"
        return Expectation(text, [Action(_("Bổ sung hồ sơ"), _filing_url(dossier, "tai-lieu"))])
    if state == S.RESULT_READY:
        if dossier.result_fee_outstanding:
            return Expectation(_("Hồ sơ đã có kết quả. Nộp phí, lệ phí để nhận kết quả."),
                               [pay] if fee_open else [])
        return Expectation(_("Hồ sơ đã có kết quả. Tải kết quả điện tử hoặc nhận tại Bộ phận "
                             "Một cửa."), [Action(_("Nhận kết quả"), detail + "#ket-qua")])
    if state == S.RETURNED:
        if rating_allowed(dossier=dossier):
            return Expectation(_("Đã trả kết quả. Mời bạn đánh giá mức độ hài lòng."),
                               [Action(_("Đánh giá"), detail + "#danh-gia")])
        return Expectation(_("Đã trả kết quả. Cảm ơn bạn đã sử dụng dịch vụ."))
    if state == S.REFUSED:
        return Expectation(_("Cơ quan từ chối giải quyết hồ sơ; xem văn bản trả lời và lý do."),
                           [Action(_("Xem văn bản"), detail + "#ket-qua", primary=False)])
    if state == S.REJECTED:
        return Expectation(_("Hồ sơ không được tiếp nhận; xem lý do trên trang hồ sơ."))
    if state == S.WITHDRAWN:
        return Expectation(_("Bạn đã rút hồ sơ này."))
    if state == S.RETURNED_UNANSWERED:
        return Expectation(_("Hồ sơ đã được trả lại vì không được bổ sung trong thời hạn; "
                             "phiếu yêu cầu bổ sung nêu những gì còn thiếu. Bạn có thể nộp "
                             "hồ sơ mới khi đã đủ giấy tờ."))
    # Submitted or in progress: nothing to do, unless a fee is still open.
    text = (_("Chờ Bộ phận Một cửa tiếp nhận hồ sơ. Bạn chưa cần làm gì.") if state == S.SUBMITTED
            else _("Hồ sơ đang được giải quyết. Bạn chưa cần làm gì."))
    if fee_open:
        pay_online = _("Bạn có thể nộp phí, lệ phí trực tuyến.")
        return Expectation(f"{text} {pay_online}", [pay])
    return Expectation(text)


# --- helpers -------------------------------------------------------------------------------


def _dossier(request, dossier_id: int) -> Dossier:
    """The signed-in applicant's dossier; anyone else's is a 404."""
    try:
        return selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
    except DossierNotFound as exc:
        raise Http404(str(exc.message)) from exc


def _refusal(request, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


def _remaining(dossier: Dossier) -> dict | None:
    """Working time left before the appointment (or past it), when the clock runs."""
    if dossier.state not in Dossier.IN_PROGRESS_STATES or not dossier.due_at:
        return None
    if dossier.paused_at is not None:
        return {"paused": True}
    calendar = services.calendar_for(dossier.handling_agency)
    left = calendar.working_days_between(clock.now(), dossier.due_at)
    overdue = left < 0
    minutes = int(abs(left) * calendar.minutes_per_day)
    days, rest = divmod(minutes, calendar.minutes_per_day)
    parts = [text % {"n": n} for n, text in (
        (days, _("%(n)s ngày")), (rest // 60, _("%(n)s giờ")), (rest % 60, _("%(n)s phút")),
    ) if n]
    return {"overdue": overdue, "text": " ".join(parts) or _("dưới 1 phút")}


def _public_history(dossier: Dossier) -> list[dict]:
    """The moves the applicant is told of (internal hand-overs stay internal)."""
    rows = []
    for row in selectors.dossier_history(dossier=dossier):
        spec = SPECS.get(row.name)
        if spec is None or not spec.notify_applicant:
            continue
        # The appointment a move set: when the clock started, resumed or restarted.
        due = (row.details.get("due_at") if isinstance(row.details, dict)
               and row.clock_effect in ("start", "resume", "restart") else None)
        rows.append({
            "label": MOVE_LABELS.get(row.name, row.name), "at": row.at,
            "state": Dossier.State(row.to_state).label if row.to_state in S.values else "",
            "reason": row.reason if spec.takes_reason else "",
            "due_at": datetime.fromisoformat(due) if due else None,
        })
    return rows


def _can(dossier: Dossier, name: str, user) -> bool:
    method = getattr(dossier, name)
    return can_proceed(method) and has_transition_perm(method, user)


def _detail_context(request, dossier: Dossier, *, withdraw_form=None, rating_form=None) -> dict:
    result, result_blocked = None, ""
    try:
        result = selectors.dossier_result(dossier=dossier, user=request.user)
    except PaymentRequired as exc:
        result_blocked = str(exc.message)
    can_rate = dossier.state in (S.RESULT_READY, S.RETURNED, S.REFUSED) and rating_allowed(
        dossier=dossier)
    rating = getattr(dossier, "rating", None) if dossier.completed_at else None
    return {
        "dossier": dossier,
        "title": dossier.code or _("Hồ sơ đang soạn"),
        "expectation": expectation_for(dossier),
        "just_submitted": request.GET.get("nop") == "1" and dossier.state != S.DRAFT,
        "remaining": _remaining(dossier),
        "documents": selectors.dossier_documents(dossier=dossier).order_by(
            "component__order", "component_id"),
        "history": _public_history(dossier),
        "payments": sorted(dossier.payments.all(), key=lambda p: p.pk),
        "fee_payable": payment_payable(dossier),
        "result": result,
        "result_blocked": result_blocked,
        "can_withdraw": _can(dossier, "withdraw", request.user),
        "withdraw_form": withdraw_form or WithdrawForm(initial={"version": dossier.version}),
        "can_rate": can_rate,
        "rating": rating,
        "score_label": SCORE_LABELS.get(rating.score) if rating else "",
        "rating_form": rating_form or RatingForm(),
        "slips": slip_links(dossier, officer=False, skip=("receipt",)),
    }


# --- pages ---------------------------------------------------------------------------------


@require_GET
@applicant_required
def dossier_list(request):
    group = request.GET.get("nhom", "")
    dossiers = selectors.dossier_list_for(user=request.user).order_by("-created_at", "-pk")
    if group in STATE_GROUPS:
        dossiers = dossiers.filter(state__in=STATE_GROUPS[group][1])
    else:
        group = ""
    page = Paginator(dossiers, PAGE_SIZE).get_page(request.GET.get("trang"))
    rows = [{"dossier": d, "expectation": expectation_for(d)} for d in page]
    return render(request, "web/applicant/dossier/list.html", {
        "title": _("Hồ sơ của tôi"), "page": page, "rows": rows, "group": group,
        "groups": [(key, label) for key, (label, _states) in STATE_GROUPS.items()],
    })


@require_GET
@applicant_required
def dossier_detail(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    return render(request, "web/applicant/dossier/detail.html",
                  _detail_context(request, dossier))


@require_GET
@applicant_required
def receipt_slip(request, dossier_id: int):
    """Form 01, the same PDF as the API's, for the dossier's applicant."""
    dossier = _dossier(request, dossier_id)
    try:
        content = services.slip_receipt_render(dossier=dossier)
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_url("dossier", dossier))
    return bytes_download(content, filename=f"tiep-nhan-{dossier.code}.pdf")


@require_GET
@applicant_required
def slip(request, dossier_id: int, name: str):
    """One of the slips the applicant holds (forms 01 to 05; an apology once approved)."""
    if name not in SLIP_LABELS:
        raise Http404
    dossier = _dossier(request, dossier_id)
    try:
        return slip_response(dossier, name, officer=False, inline=False)
    except DomainError as exc:
        _refusal(request, exc)
        return redirect(_url("dossier", dossier))


@require_GET
@applicant_required
def document_download(request, dossier_id: int, document_id: int):
    dossier = _dossier(request, dossier_id)
    try:
        document = selectors.document_get_for(user=request.user, document_id=document_id)
    except DossierNotFound as exc:
        raise Http404(str(exc.message)) from exc
    if document.dossier_id != dossier.pk:
        raise Http404(_("Không tìm thấy giấy tờ."))
    return private_file(document.file, filename=document.original_name)


@require_GET
@applicant_required
def result_file(request, dossier_id: int):
    """The signed result, as the API's DossierResultFileApi serves it."""
    dossier = _dossier(request, dossier_id)
    try:
        result = selectors.dossier_result(dossier=dossier, user=request.user)
    except PaymentRequired as exc:
        _refusal(request, exc)
        return redirect(_url("pay", dossier))
    if result is None or not result.file:
        messages.error(request, _("Hồ sơ chưa có kết quả điện tử."))
        return redirect(_url("dossier", dossier))
    return private_file(result.file, filename=f"ket-qua-{dossier.code}.pdf")


@require_POST
@applicant_required
def dossier_withdraw(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.dossier_withdraw(dossier_id=dossier.pk, actor=request.user,
                                      reason=form.cleaned_data["reason"],
                                      version=form.cleaned_data["version"])
        except ReasonRequired as exc:
            form.add_error("reason", str(exc.message))
        except DomainError as exc:
            _refusal(request, exc)
            return redirect(_url("dossier", dossier))
        else:
            messages.success(request, _("Đã rút hồ sơ %(code)s.") % {"code": dossier.code})
            return redirect(_url("dossier", dossier))
    context = _detail_context(request, dossier, withdraw_form=form)
    return render(request, "web/applicant/dossier/detail.html", context, status=400)


@require_POST
@applicant_required
def dossier_rate(request, dossier_id: int):
    dossier = _dossier(request, dossier_id)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rating_create(dossier_id=dossier.pk, actor=request.user,
                                   score=form.cleaned_data["score"],
                                   comment=form.cleaned_data["comment"])
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("Cảm ơn bạn đã đánh giá."))
        return redirect(_url("dossier", dossier, "#danh-gia"))
    context = _detail_context(request, dossier, rating_form=form)
    return render(request, "web/applicant/dossier/detail.html", context, status=400)


@require_http_methods(["GET", "POST"])
@applicant_required
@payment_form_action
def dossier_pay(request, dossier_id: int):
    """The fee, and a button that opens the payment at the provider and goes there."""
    dossier = _dossier(request, dossier_id)
    if request.method == "POST":
        try:
            payment = services.payment_start(dossier_id=dossier.pk, actor=request.user)
        except DomainError as exc:
            _refusal(request, exc)
            return redirect(_url("pay", dossier))
        if payment.status != Payment.Status.PENDING or not payment.redirect_url:
            messages.info(request, _("Hồ sơ đã nộp phí, lệ phí."))
            return redirect(_url("dossier", dossier))
        return HttpResponseRedirect(payment.redirect_url)
    return render(request, "web/applicant/dossier/pay.html", {
        "title": _("Nộp phí, lệ phí"), "dossier": dossier,
        "payable": payment_payable(dossier),
        "payments": sorted(dossier.payments.all(), key=lambda p: p.pk),
    })


@require_GET
@applicant_required
def payment_return(request, payment_id: int):
    """The browser back from the payment page: the provider is asked, the browser is not
    believed; the page says how the payment stands."""
    try:
        outcome = payment_refresh_for(user=request.user, payment_id=payment_id,
                                      reference=request.GET.get("reference"))
    except PaymentNotFound as exc:
        raise Http404(str(exc.message)) from exc
    except PaymentMismatch as exc:
        dossier_id = exc.extra.get("dossier_id")
        return render(request, "web/applicant/dossier/payment_return.html", {
            "title": _("Thanh toán không thành công"), "tone": "error", "payment": None,
            "problem": str(exc.message),
            "dossier": _dossier(request, dossier_id) if dossier_id else None,
        }, status=400)
    payment = outcome.payment
    dossier = _dossier(request, payment.dossier_id)
    tone, heading = PAYMENT_OUTCOMES[payment.status]
    return render(request, "web/applicant/dossier/payment_return.html", {
        "title": heading, "tone": tone, "payment": payment, "dossier": dossier,
        "payable": payment_payable(dossier),
    })

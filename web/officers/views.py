"""The officers' pages: the work queue and the dossier workspace. Each view reads through the
scoping and queue selectors and changes a dossier only through the services the API calls; a
service's refusal becomes a message on the page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dossiers import selectors, services
from dossiers.exceptions import DossierNotFound, InvalidFormData, StaleVersion
from dossiers.models import ApologySlip, Dossier, PersonalDataAccess
from dossiers.selectors.queues import (
    dossier_assignable_officers,
    dossier_queue,
    dossier_queue_counts,
    queue_states,
)
from dossiers.services.supplements import supplement_expired_for
from portal import clock
from portal.downloads import bytes_download
from portal.exceptions import DomainError
from portal.roles import Role

from ..access import officer_required
from ..files import private_file
from ..slips import SLIP_LABELS, slip_links, slip_response
from .display import (
    HISTORY_LABELS,
    OFFICER_MOVES,
    clock_for,
    document_views,
    form_rows,
    moves_for,
    working_time_text,
)
from .forms import (
    ApologyForm,
    AssignForm,
    ClaimForm,
    MoveForm,
    QueueFilterForm,
    SignatureDecisionForm,
)

QUEUE_PAGE_SIZE = 25
FILTER_NAMES = ("code", "state", "procedure", "assignee", "due")


def stale_message() -> str:
    return _("Hồ sơ vừa được người khác cập nhật, vui lòng tải lại.")


# --- the queue -------------------------------------------------------------------------


def _query(params: dict, **changes) -> str:
    """The queue's address with some filters changed; a filter change starts at page one."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name in FILTER_NAMES:
        value = changes.get(name, params.get(name))
        if value not in (None, ""):
            query[name] = value
    if changes.get("cursor"):
        query["cursor"] = changes["cursor"]
    base = reverse("web:officers:queue")
    return f"{base}?{query.urlencode()}" if query else base


@officer_required
@require_GET
def queue(request):
    """The officer's work queue: what waits in their agency, soonest due first."""
    user = request.user
    states = queue_states(user=user)
    procedures = selectors.procedure_list().filter(agency__code=user.agency_code)
    form = QueueFilterForm(request.GET, states=states, procedures=procedures)
    form.is_valid()  # a filter that does not validate is dropped and flagged by its field
    filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    now = clock.now()
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        page = dossier_queue(user=user, cursor=cursor, page_size=QUEUE_PAGE_SIZE, now=now,
                             **filters)
    except InvalidFormData:
        notice = _("Liên kết trang không còn hợp lệ; đang hiển thị trang đầu.")
        cursor = None
        page = dossier_queue(user=user, page_size=QUEUE_PAGE_SIZE, now=now, **filters)
    counts = dossier_queue_counts(
        user=user, now=now, **{k: v for k, v in filters.items() if k != "state"}
    )
    raw = {name: request.GET.get(name, "") for name in FILTER_NAMES}
    raw = {k: v for k, v in raw.items() if k not in form.errors}
    chips = [{"state": "", "label": _("Tất cả"), "count": sum(counts.values()),
              "href": _query(raw, state=""), "current": not filters.get("state")}]
    chips += [
        {"state": state, "label": Dossier.State(state).label, "count": counts[state],
         "href": _query(raw, state=state), "current": filters.get("state") == state}
        for state in states
    ]
    context = {
        "form": form, "page": page, "chips": chips, "notice": notice,
        "next_url": _query(raw, cursor=page.next_cursor) if page.next_cursor else "",
        "first_url": _query(raw) if cursor else "",
        "filtered": bool(filters),
        "title": _("Hàng đợi xử lý"),
    }
    template = "web/officers/_queue.html" if request.htmx else "web/officers/queue.html"
    return render(request, template, context)


# --- the dossier workspace --------------------------------------------------------------


def _dossier_or_404(request, dossier_id: int) -> Dossier:
    try:
        return selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
    except DossierNotFound as exc:
        raise Http404(str(exc.message)) from exc


def _workspace_url(dossier: Dossier, anchor: str = "") -> str:
    return reverse("web:officers:dossier", args=[dossier.pk]) + anchor


def _apology(dossier: Dossier) -> ApologySlip | None:
    try:
        return dossier.apology
    except ApologySlip.DoesNotExist:
        return None


def _workspace(request, dossier: Dossier, *, bound=None, status: int = 200, error: str = ""):
    """The workspace page; `bound` is a form the officer sent back with its errors."""
    user = request.user
    now = clock.now()
    if bound is not None and bound.errors and not error:
        error = _("Chưa thực hiện được: vui lòng sửa các mục được đánh dấu bên dưới.")
    components = list(dossier.procedure.components.all())
    moves = moves_for(dossier, user)
    for move in moves.allowed:
        if isinstance(bound, MoveForm) and bound.name == move.name:
            move.form, move.open = bound, True
        else:
            move.form = MoveForm(name=move.name, components=components,
                                 initial={"version": dossier.version})
    is_leader = user.has_role(Role.LEADER)
    can_manage = dossier.state in (*Dossier.IN_PROGRESS_STATES, Dossier.State.SUBMITTED)
    assign_form = claim_form = None
    if can_manage and is_leader:
        assign_form = bound if isinstance(bound, AssignForm) else AssignForm(
            officers=dossier_assignable_officers(dossier=dossier),
            initial={"version": dossier.version, "assignee_id": dossier.assignee_id},
        )
    if can_manage and dossier.assignee_id is None:
        claim_form = ClaimForm(initial={"version": dossier.version})
    apology = _apology(dossier)
    apology_form = None
    if (apology is None and user.has_role(Role.SPECIALIST)
            and dossier.state in Dossier.IN_PROGRESS_STATES and dossier.due_at
            and dossier.due_at > now):
        apology_form = bound if isinstance(bound, ApologyForm) else ApologyForm()
    clock_view = clock_for(dossier, now)
    documents = selectors.dossier_documents(dossier=dossier).order_by(
        "component__order", "component_id")
    document_rows = document_views(documents, user)
    for row in document_rows:
        if not row.needs_decision:
            continue
        if isinstance(bound, SignatureDecisionForm) and bound.document_id == row.document.pk:
            row.form, row.open = bound, True
        else:
            row.form = SignatureDecisionForm(auto_id=f"id_sig{row.document.pk}_%s")
    context = {
        "dossier": dossier, "title": dossier.code,
        "form_rows": form_rows(dossier),
        "documents": document_rows,
        "history": [
            (row, HISTORY_LABELS.get(row.name, row.name)) for row in
            selectors.dossier_history(dossier=dossier)
        ],
        "state_labels": dict(Dossier.State.choices),
        "clock": clock_view,
        "time_text": working_time_text(clock_view) if clock_view.days_left is not None else "",
        "moves": moves, "assign_form": assign_form, "claim_form": claim_form,
        "apology": apology, "apology_form": apology_form,
        "apology_approvable": (apology is not None and apology.status == ApologySlip.Status.DRAFT
                               and is_leader and dossier.state in Dossier.IN_PROGRESS_STATES),
        "payments": sorted(dossier.payments.all(), key=lambda p: p.pk),
        "result": selectors.dossier_result(dossier=dossier),
        "steps": list(dossier.procedure.steps.all()),
        "slips": slip_links(dossier, officer=True),
        "supplement_expired": supplement_expired_for(dossier),
        "error": error,
    }
    return render(request, "web/officers/dossier.html", context, status=status)


@officer_required
@require_GET
def dossier(request, dossier_id: int):
    """One dossier of the officer's agency: its papers, history, clock and the moves open now."""
    dossier = _dossier_or_404(request, dossier_id)
    services.personal_data_read_record(request, dossier=dossier)
    return _workspace(request, dossier)


def _service_call(request, dossier: Dossier, form, call, success: str, anchor: str = ""):
    """Run a service; its refusal re-renders the workspace with what was typed kept."""
    try:
        call()
    except StaleVersion:
        fresh = _dossier_or_404(request, dossier.pk)
        if "version" in getattr(form, "fields", {}):
            data = form.data.copy()
            data["version"] = fresh.version  # the page below shows the current dossier
            form = type(form)(data, **getattr(form, "_init_kwargs", {}))
            form.is_valid()
        return _workspace(request, fresh, bound=form, status=409, error=stale_message())
    except DomainError as exc:
        fresh = _dossier_or_404(request, dossier.pk)
        return _workspace(request, fresh, bound=form, status=exc.http_status,
                          error=str(exc.message))
    messages.success(request, success)
    if not selectors.dossier_list_for(user=request.user).filter(pk=dossier.pk).exists():
        # The move took the dossier out of the officer's sight (a specialist's proposal
        # leaves the unit's step): back to the queue, not to a page that is now a 404.
        return redirect("web:officers:queue")
    return redirect(_workspace_url(dossier, anchor))


def _move_service(name: str):
    return getattr(services, f"dossier_{name}")


@officer_required
@require_POST
def move(request, dossier_id: int, action: str):
    """One workflow move, through the same service the API transition calls."""
    name = action.replace("-", "_")
    if name not in OFFICER_MOVES:
        raise Http404
    dossier = _dossier_or_404(request, dossier_id)
    init = {"name": name, "components": list(dossier.procedure.components.all())}
    form = MoveForm(request.POST, **init)
    form._init_kwargs = init
    if not form.is_valid():
        return _workspace(request, dossier, bound=form, status=400)
    data = form.cleaned_data
    if name == "issue_result":
        def call():
            services.dossier_issue_result(dossier_id=dossier.pk, actor=request.user,
                                          kind=data["kind"], number=data["number"],
                                          version=data["version"])
    else:
        kwargs = {"version": data["version"]}
        if form.spec.takes_reason:
            kwargs["reason"] = form.reason_text()

        def call():
            _move_service(name)(dossier_id=dossier.pk, actor=request.user, **kwargs)

    label = OFFICER_MOVES[name][0]
    success = _("Đã thực hiện: %(move)s.") % {"move": label}
    if name == "accept":
        success = _("Đã tiếp nhận hồ sơ; thời hạn giải quyết bắt đầu tính. In giấy tiếp nhận "
                    "và hẹn trả kết quả cho người nộp.")
    return _service_call(request, dossier, form, call, success)


@officer_required
@require_POST
def claim(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return _workspace(request, dossier, status=400, error=_("Yêu cầu không hợp lệ."))
    return _service_call(
        request, dossier, form,
        lambda: services.dossier_claim(dossier_id=dossier.pk, actor=request.user,
                                       version=form.cleaned_data["version"]),
        _("Bạn đã nhận xử lý hồ sơ."),
    )


@officer_required
@require_POST
def assign(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    init = {"officers": dossier_assignable_officers(dossier=dossier)}
    form = AssignForm(request.POST, **init)
    form._init_kwargs = init
    if not form.is_valid():
        return _workspace(request, dossier, bound=form, status=400)
    assignee = dict(form.fields["assignee_id"].choices).get(form.cleaned_data["assignee_id"])
    return _service_call(
        request, dossier, form,
        lambda: services.dossier_assign(dossier_id=dossier.pk, actor=request.user,
                                        assignee_id=form.cleaned_data["assignee_id"],
                                        version=form.cleaned_data["version"]),
        _("Đã giao hồ sơ cho %(name)s.") % {"name": assignee},
    )


@officer_required
@require_POST
def signature_decide(request, document_id: int):
    try:
        document = selectors.document_get_for(user=request.user, document_id=document_id)
    except DossierNotFound as exc:
        raise Http404 from exc
    dossier = _dossier_or_404(request, document.dossier_id)
    form = SignatureDecisionForm(request.POST, auto_id=f"id_sig{document.pk}_%s")
    form.document_id = document.pk
    if not form.is_valid():
        return _workspace(request, dossier, bound=form, status=400)
    return _service_call(
        request, dossier, form,
        lambda: services.document_signature_decide(
            document_id=document.pk, actor=request.user, **form.cleaned_data),
        _("Đã ghi quyết định về chữ ký số của %(name)s.") % {"name": document.original_name},
        "#giay-to",
    )


@officer_required
@require_POST
def apology_draft(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    form = ApologyForm(request.POST)
    if not form.is_valid():
        return _workspace(request, dossier, bound=form, status=400)
    return _service_call(
        request, dossier, form,
        lambda: services.apology_draft(dossier_id=dossier.pk, actor=request.user,
                                       **form.cleaned_data),
        _("Đã lập dự thảo phiếu xin lỗi và hẹn lại; chờ lãnh đạo duyệt."), "#hen-lai",
    )


@officer_required
@require_POST
def apology_approve(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    return _service_call(
        request, dossier, None,
        lambda: services.apology_approve(dossier_id=dossier.pk, actor=request.user),
        _("Đã duyệt phiếu xin lỗi và hẹn lại; người nộp hồ sơ được thông báo."), "#hen-lai",
    )


# --- files -----------------------------------------------------------------------------


@officer_required
@require_GET
def document_download(request, document_id: int):
    try:
        document = selectors.document_get_for(user=request.user, document_id=document_id)
    except DossierNotFound as exc:
        raise Http404 from exc
    services.personal_data_read_record(request, dossier=document.dossier, document=document)
    return private_file(document.file, filename=document.original_name)


@officer_required
@require_GET
def receipt_slip(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    try:
        content = services.slip_receipt_render(dossier=dossier)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(_workspace_url(dossier))
    services.personal_data_read_record(request, dossier=dossier, what="receipt_slip")
    # Inline by design: reception opens the slip in the browser's PDF viewer to print it at the
    # counter; the portal made these bytes itself, nothing uploaded is ever shown inline.
    return bytes_download(content, filename=f"tiep-nhan-{dossier.code}.pdf", inline=True)


@officer_required
@require_GET
def slip(request, dossier_id: int, name: str):
    """One of the five slips of the dossier (forms 01 to 05), drafts included."""
    if name not in SLIP_LABELS:
        raise Http404
    dossier = _dossier_or_404(request, dossier_id)
    try:
        response = slip_response(dossier, name, officer=True, inline=True)
        services.personal_data_read_record(request, dossier=dossier,
                                           what=PersonalDataAccess.What.SLIP)
        return response
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(_workspace_url(dossier))


@officer_required
@require_GET
def result_file(request, dossier_id: int):
    dossier = _dossier_or_404(request, dossier_id)
    result = selectors.dossier_result(dossier=dossier)
    if result is None or not result.file:
        raise Http404
    services.personal_data_read_record(request, dossier=dossier, what="result")
    return private_file(result.file, filename=f"ket-qua-{dossier.code}.pdf")

"""The pages anyone may open: the procedure catalog, a procedure, and the status lookup."""

import math
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from dossiers.api.views.officers import LookupThrottle
from dossiers.exceptions import LookupNotFound
from dossiers.models import Dossier, form_properties
from dossiers.selectors import dossier_lookup, procedure_list

from .catalog import catalog_search
from .forms import CatalogSearchForm, LookupForm

S = Dossier.State

# What the applicant should know or do next, in plain words, by state.
NEXT_STEP = {
    S.SUBMITTED: gettext_lazy(
        "Hồ sơ đã được gửi và đang chờ Bộ phận Một cửa tiếp nhận. Bạn chưa cần làm gì thêm."),
    S.NEEDS_COMPLETION: gettext_lazy(
        "Bộ phận Một cửa yêu cầu hoàn thiện hồ sơ – đăng nhập để xem hướng dẫn, hoàn thiện và "
        "nộp lại."),
    S.REJECTED: gettext_lazy(
        "Hồ sơ không được tiếp nhận – đăng nhập để xem lý do trong phiếu từ chối tiếp nhận."),
    S.PROCESSING: gettext_lazy(
        "Hồ sơ đang được giải quyết. Bạn chưa cần làm gì thêm; cơ quan sẽ báo khi có kết quả."),
    S.AWAITING_SUPPLEMENT: gettext_lazy(
        "Cơ quan yêu cầu bổ sung hồ sơ – đăng nhập để xem nội dung cần bổ sung và bổ sung."),
    S.SUSPENDED: gettext_lazy(
        "Cơ quan tạm dừng giải quyết hồ sơ; thời gian tạm dừng không tính vào thời hạn. "
        "Đăng nhập để xem lý do."),
    S.PENDING_APPROVAL: gettext_lazy(
        "Hồ sơ đã thẩm định xong và đang chờ lãnh đạo phê duyệt. Bạn chưa cần làm gì thêm."),
    S.APPROVED: gettext_lazy(
        "Hồ sơ đã được phê duyệt; kết quả đang được ký số và phát hành."),
    S.REFUSED: gettext_lazy(
        "Cơ quan từ chối giải quyết hồ sơ – đăng nhập để nhận văn bản trả lời nêu rõ lý do."),
    S.RESULT_READY: gettext_lazy(
        "Đã có kết quả – đăng nhập để nhận kết quả điện tử (nộp phí, lệ phí trước nếu còn "
        "phải nộp), hoặc nhận tại Bộ phận Một cửa theo ngày hẹn."),
    S.RETURNED: gettext_lazy(
        "Đã trả kết quả. Mời bạn đăng nhập để đánh giá mức độ hài lòng."),
    S.WITHDRAWN: gettext_lazy("Hồ sơ đã được rút theo yêu cầu của người nộp."),
    S.RETURNED_UNANSWERED: gettext_lazy(
        "Hồ sơ đã được trả lại vì không được bổ sung trong thời hạn; bạn có thể nộp hồ sơ "
        "mới khi đã đủ giấy tờ."),
}
# States where the applicant must act through their account.
ACT_STATES = {S.NEEDS_COMPLETION, S.AWAITING_SUPPLEMENT, S.RESULT_READY, S.REFUSED,
              S.REJECTED, S.SUSPENDED, S.RETURNED}


def days(value) -> str:
    """A number of days as people write it: 20, 0,5 (one session), 1,25; never 0.50."""
    exact = Decimal(value).quantize(Decimal("0.01"))
    exact = exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact.normalize()
    return number_format(exact)


def _with_days(procedures):
    for p in procedures:
        p.days = days(p.processing_days)
    return procedures


@require_GET
def home(request):
    catalog = catalog_search()  # the filters' choices come from the whole catalog
    form = CatalogSearchForm(request.GET or None, sectors=catalog.sectors,
                             agencies=catalog.agencies)
    criteria = form.criteria()
    if any(criteria.values()):
        catalog = catalog_search(**criteria)
    _with_days(catalog.procedures)
    context = {"form": form, "catalog": catalog, "searching": any(criteria.values()),
               "lookup_form": LookupForm(auto_id="lookup_%s")}
    partial = (request.htmx and not request.htmx.boosted
               and not request.htmx.history_restore_request)
    response = render(request, "web/public/_results.html" if partial else "web/public/home.html",
                      context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _form_fields(procedure) -> list[dict]:
    """The form schema's fields in plain words: title, whether required, what it takes."""
    schema = procedure.form_schema or {}
    required = set(schema.get("required") or ())
    kinds = {"string": "", "number": _("Số"), "integer": _("Số nguyên"),
             "boolean": _("Có / không"), "array": _("Danh sách"), "object": _("Nhóm thông tin")}
    fields = []
    for name, spec in form_properties(schema):
        spec = spec if isinstance(spec, dict) else {}
        kind = kinds.get(spec.get("type"), "")
        if spec.get("format") == "date":
            kind = _("Ngày")
        elif spec.get("format") == "email":
            kind = _("Thư điện tử")
        elif "enum" in spec:
            kind = _("Chọn một")
        fields.append({"title": spec.get("title") or name, "required": name in required,
                       "kind": kind, "description": spec.get("description", "")})
    return fields


_TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG",
               "application/pkcs7-signature": "P7S", "application/xml": "XML",
               "application/zip": "ZIP"}


@require_GET
def procedure(request, procedure_id: int):
    found = procedure_list().filter(pk=procedure_id).first()
    if found is None:
        raise Http404
    components = [
        {"component": c, "types": ", ".join(_TYPE_NAMES.get(t, t) for t in c.accepted_types)}
        for c in found.components.all()
    ]
    _with_days([found])
    steps = list(found.steps.all())
    for step in steps:
        step.days = days(step.budget_days)
    context = {
        "procedure": found, "components": components,
        "mandatory_count": sum(1 for c in components if c["component"].mandatory),
        "signed_count": sum(1 for c in components if c["component"].must_be_signed),
        "steps": steps, "form_fields": _form_fields(found),
        "assumed": set(found.demo_assumptions or ()),
    }
    return render(request, "web/public/procedure.html", context)


def _throttled(request) -> float | None:
    """The lookup API's throttle, counted in the same place (per client address): the seconds
    to wait, or None when the request may go on."""
    throttle = LookupThrottle()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait() or 1.0


def _timeline(dossier) -> list[tuple]:
    """What the API's lookup tells of the dossier's way, oldest first: no reasons, no people."""
    events = [
        (dossier.submitted_at, _("Nộp hồ sơ")),
        (dossier.received_at, _("Đã tiếp nhận, bắt đầu tính thời hạn giải quyết")),
        (dossier.completed_at, _("Đã xử lý xong")),
        (dossier.returned_at, _("Đã trả kết quả")),
    ]
    return sorted(((at, label) for at, label in events if at), key=lambda e: e[0])


def _point_at_error(form: LookupForm) -> None:
    """Both fields carry the one message: saying which was wrong would tell a guesser that a
    code exists."""
    for name in ("code", "secret"):
        form.fields[name].widget.attrs.update({
            "aria-invalid": "true",
            "aria-describedby": f"lookup-error {form[name].auto_id}_helptext",
        })


def _render_lookup(request, context: dict, *, status: int = 200, wait: float | None = None):
    response = render(request, "web/public/lookup.html", context, status=status)
    # The page may carry the secret: neither cached nor sent on as a referrer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    if wait is not None:
        response["Retry-After"] = str(math.ceil(wait))
    return response


@require_http_methods(["GET", "POST"])
def lookup(request):
    """Status by dossier code and lookup secret; a link with the code alone asks for the
    secret. Every try counts against the client's rate, shared with the lookup API, so a
    secret cannot be guessed by brute force."""
    data = request.POST if request.method == "POST" else request.GET
    if "secret" not in data:  # the page itself, or the link of an email or a QR code
        code = data.get("code", "").strip()[:64]
        form = LookupForm(initial={"code": code})
        if code:
            form.fields["secret"].widget.attrs["autofocus"] = True
        return _render_lookup(request, {"form": form, "code_only": bool(code)})

    form = LookupForm(data)
    if not form.is_valid():
        return _render_lookup(request, {"form": form})
    wait = _throttled(request)
    if wait is not None:
        form.add_error(None, _("Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau %(minutes)d "
                               "phút.") % {"minutes": math.ceil(wait / 60)})
        return _render_lookup(request, {"form": form, "throttled": True}, status=429,
                              wait=wait)
    try:
        dossier = dossier_lookup(code=form.cleaned_data["code"].strip(),
                                 secret=form.cleaned_data["secret"].strip())
    except LookupNotFound as exc:
        form.add_error(None, _("%(message)s Kiểm tra lại mã hồ sơ và mã tra cứu trên Giấy tiếp "
                               "nhận hồ sơ và hẹn trả kết quả.") % {"message": exc.message})
        _point_at_error(form)
        return _render_lookup(request, {"form": form})
    return _render_lookup(request, {
        "form": LookupForm(),  # the secret is not written back into the page
        "dossier": dossier, "agency": dossier.handling_agency.name,
        "next_step": NEXT_STEP.get(dossier.state, ""), "must_act": dossier.state in ACT_STATES,
        "timeline": _timeline(dossier),
    })

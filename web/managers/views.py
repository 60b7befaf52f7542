"""The supervisors' pages: the service indicators, the dossiers behind each figure, exports."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dossiers.exceptions import DossierNotFound
from dossiers.selectors.indicators import (
    FIGURE_LABELS,
    group_names,
    indicator_dossiers,
    indicator_rows,
    indicators,
    overdue_by_step,
)
from portal import clock

from ..access import supervisor_required
from . import charts, exports
from .forms import NO_STEP, DossierListForm, IndicatorFilterForm, month_label

PAGE_SIZE = 25


def number(value) -> str:
    """1234 -> "1.234" (the Vietnamese thousands separator)."""
    return "—" if value is None else f"{value:,}".replace(",", ".")


def percent(rate) -> str:
    """0.8125 -> "81,3%"; no rate (nothing to divide by) -> "—"."""
    return "—" if rate is None else f"{rate * 100:.1f}%".replace(".", ",")


def _today():
    from django.utils import timezone

    return timezone.localtime(clock.now()).date()


class _Links:
    """Addresses of the dossiers behind a figure, under the page's filter."""

    def __init__(self, form: IndicatorFilterForm):
        self.form = form
        self.base = reverse("web:managers:dossiers")

    def __call__(self, figure: str, **overrides) -> str:
        return f"{self.base}?{self.form.query(figure=figure, **overrides)}"

    def month(self, figure: str, month: str) -> str:
        return self(figure, month_from=month, month_to=month)


def _figure(label, value, href, *, note="", parts=()) -> dict:
    return {"label": label, "value": value, "href": href, "note": note, "parts": list(parts)}


def _headline(t: dict, link: _Links) -> tuple[list[dict], list[dict]]:
    """The figures at the top of the page, then the Decision 766 indicators."""
    main = [
        _figure(_("Đã tiếp nhận"), number(t["received"]), link("received")),
        _figure(_("Đã giải quyết"), number(t["completed"]), link("completed")),
        _figure(_("Tỷ lệ đúng hạn"), percent(t["on_time_rate"]), link("in_time"),
                parts=[(number(t["early"] + t["on_time"]), link("in_time"),
                        _("trước hạn và đúng hạn")),
                       (number(t["completed"]), link("completed"), _("đã giải quyết"))]),
        _figure(_("Giải quyết trễ hạn"), number(t["late"]), link("late")),
        _figure(_("Đang giải quyết"), number(t["in_progress"]), link("in_progress"),
                parts=[(number(t["within_time"]), link("within_time"), _("trong hạn")),
                       (number(t["paused"]), link("paused"), _("tạm dừng, chờ bổ sung"))]),
        _figure(_("Đang quá hạn"), number(t["overdue"]), link("overdue"),
                note=_("tính đến thời điểm xem")),
        _figure(_("Thanh toán trực tuyến"), number(t["paid_online"]), link("paid_online"),
                parts=[(number(t["fee_bearing"]), link("fee_bearing"), _("hồ sơ có phí, lệ phí"))]),
    ]
    decision_766 = [
        _figure(_("Tỷ lệ thanh toán trực tuyến"), percent(t["online_payment_rate"]),
                link("paid_online"),
                parts=[(number(t["paid_online"]), link("paid_online"), _("trực tuyến")),
                       (number(t["fee_bearing"]), link("fee_bearing"), _("có phí, lệ phí"))]),
        _figure(_("Tỷ lệ số hóa hồ sơ"), percent(t["digitization_rate"]), link("digitized"),
                parts=[(number(t["digitized"]), link("digitized"), _("số hóa")),
                       (number(t["received"]), link("received"), _("đã tiếp nhận"))]),
        _figure(_("Tỷ lệ kết quả điện tử"), percent(t["electronic_result_rate"]),
                link("results_electronic"),
                parts=[(number(t["results_electronic"]), link("results_electronic"),
                        _("kết quả điện tử")),
                       (number(t["completed"]), link("completed"), _("đã giải quyết"))]),
        _figure(_("Mức độ hài lòng"), percent(t["satisfied_rate"]), link("rated"),
                note=_("điểm trung bình %(avg)s/5") % {
                    "avg": "—" if t["average_rating"] is None
                    else f"{t['average_rating']:.2f}".replace(".", ",")},
                parts=[(number(t["rated"]), link("rated"), _("lượt đánh giá"))]),
        _figure(_("Rút hồ sơ"), number(t["withdrawn"]), link("withdrawn")),
        _figure(_("Từ chối giải quyết"), number(t["refused"]), link("refused")),
        _figure(_("Từ chối tiếp nhận"), number(t["rejected"]), link("rejected")),
    ]
    return main, decision_766


def _monthly(form, link, user, filters) -> dict:
    groups = {g["key"]: g for g in indicators(user=user, group_by="month", **filters)["groups"]}
    zero = {"received": 0, "completed": 0, "early": 0, "on_time": 0, "late": 0,
            "on_time_rate": None}
    rows = []
    for key in form.months():
        g = groups.get(key, zero)
        rows.append({
            "month": key, "label": month_label(key), "short": f"{key[5:]}/{key[2:4]}",
            "received": g["received"], "completed": g["completed"],
            "in_time": g["early"] + g["on_time"], "late": g["late"],
            "rate": g["on_time_rate"], "rate_text": percent(g["on_time_rate"]),
            "links": {f: link.month(f, key) for f in ("received", "completed", "in_time", "late")},
        })
    rate_points = [
        charts.Bar(label=r["short"], value=None if r["rate"] is None else r["rate"] * 100,
                   text=percent(r["rate"]), href=r["links"]["in_time"], title=r["label"])
        for r in rows
    ]
    received = charts.Series(_("Đã tiếp nhận"), [
        charts.Bar(r["short"], r["received"], number(r["received"]), r["links"]["received"],
                   title=_("Tháng %(m)s – đã tiếp nhận") % {"m": r["label"]}) for r in rows])
    completed = charts.Series(_("Đã giải quyết"), [
        charts.Bar(r["short"], r["completed"], number(r["completed"]), r["links"]["completed"],
                   title=_("Tháng %(m)s – đã giải quyết") % {"m": r["label"]}) for r in rows])
    period = " – ".join(dict.fromkeys([rows[0]["label"], rows[-1]["label"]]))
    width = max(480, 56 + 46 * len(rows))
    return {
        "rows": rows,
        "rate_chart": charts.line_chart(
            title=_("Tỷ lệ giải quyết đúng hạn theo tháng"),
            desc=_("Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn trên số đã giải quyết, từng "
                   "tháng, %(period)s. Số liệu trong bảng dưới biểu đồ.") % {"period": period},
            points=rate_points, y_title=_("Tỷ lệ đúng hạn"), x_title=_("Tháng"), width=width),
        "volume_chart": charts.column_chart(
            title=_("Hồ sơ tiếp nhận và giải quyết theo tháng"),
            desc=_("Số hồ sơ đã tiếp nhận (cột đặc) và đã giải quyết (cột gạch chéo) từng "
                   "tháng, %(period)s. Số liệu trong bảng dưới biểu đồ.") % {"period": period},
            series=[received, completed], y_title=_("Số hồ sơ"), x_title=_("Tháng"),
            width=width),
    }


def _rate_sort(row: dict) -> tuple:
    rate = row["on_time_rate"]
    return (rate is None, rate if rate is not None else 0, row["name"])


def _by(group_by: str, link, user, filters) -> dict:
    groups = indicators(user=user, group_by=group_by, **filters)["groups"]
    names = group_names(group_by=group_by, keys=[g["key"] for g in groups])
    param = "agency" if group_by == "agency" else "procedure"
    rows = sorted(
        ({**g, "name": names.get(g["key"], str(g["key"])),
          "rate_text": "" if g["on_time_rate"] is None else percent(g["on_time_rate"]),
          "links": {f: link(f, **{param: g["key"]})
                    for f in ("received", "completed", "in_time", "overdue")}}
         for g in groups),
        key=_rate_sort,
    )
    bars = [
        charts.Bar(label=r["name"],
                   value=None if r["on_time_rate"] is None else r["on_time_rate"] * 100,
                   text=percent(r["on_time_rate"]) if r["on_time_rate"] is not None
                   else _("chưa có hồ sơ đã giải quyết"),
                   href=r["links"]["in_time"], title=r["name"])
        for r in rows
    ]
    what = _("cơ quan") if group_by == "agency" else _("thủ tục")
    return {
        "rows": rows,
        "chart": charts.bar_chart(
            title=_("Tỷ lệ giải quyết đúng hạn theo %(what)s") % {"what": what},
            desc=_("Mỗi thanh là một %(what)s, xếp từ tỷ lệ thấp nhất. Số liệu trong bảng "
                   "bên cạnh.") % {"what": what},
            bars=bars, x_title=_("Tỷ lệ đúng hạn"), percent=True,
        ) if rows else "",
    }


def _steps(link, user, filters) -> dict:
    rows = overdue_by_step(user=user, agency=filters["agency"], procedure=filters["procedure"],
                           channels=filters["channels"], date_to=filters["date_to"])
    for r in rows:
        r["name"] = r["step"] or _("Chưa vào bước nào")
        r["href"] = link("overdue", step=r["step"] or NO_STEP)
    bars = [charts.Bar(label=r["name"], value=r["count"], text=number(r["count"]),
                       href=r["href"]) for r in rows]
    return {
        "rows": rows,
        "chart": charts.bar_chart(
            title=_("Hồ sơ đang quá hạn theo bước xử lý"),
            desc=_("Số hồ sơ đang quá hạn tại mỗi bước xử lý, nhiều nhất trước. Số liệu trong "
                   "bảng bên cạnh."),
            bars=bars, x_title=_("Số hồ sơ đang quá hạn"),
        ) if rows else "",
    }


@require_GET
@supervisor_required
def dashboard(request):
    """`/quan-ly/chi-so/`: the indicators under a filter; htmx swaps the part below the title."""
    form = IndicatorFilterForm(request.GET, user=request.user, today=_today())
    context = {"form": form, "title": _("Chỉ số phục vụ người dân, doanh nghiệp")}
    if form.is_valid():
        filters = form.filters()
        link = _Links(form)
        try:
            totals = indicators(user=request.user, **filters)
            main, decision_766 = _headline(totals, link)
            context.update(
                valid=True, figures=main, decision_766=decision_766,
                described=form.described(),
                monthly=_monthly(form, link, request.user, filters),
                by_agency=_by("agency", link, request.user, filters),
                by_procedure=_by("procedure", link, request.user, filters),
                steps=_steps(link, request.user, filters),
                export_query=form.query(),
            )
        except DossierNotFound as exc:
            raise Http404 from exc
    template = "web/managers/_dashboard_body.html" if request.htmx else "web/managers/dashboard.html"
    return render(request, template, context)


@require_GET
@supervisor_required
def dossier_list(request):
    """`/quan-ly/ho-so/`: the dossiers one figure counts, under the same filter; the facts of
    each dossier only (codes, dates, state, outcome), a page at a time."""
    form = DossierListForm(request.GET, user=request.user, today=_today())
    context = {"form": form, "title": _("Hồ sơ theo chỉ số")}
    if form.is_valid():
        figure = form.cleaned_data["figure"]
        try:
            dossiers = indicator_dossiers(
                user=request.user, figure=figure, step=form.step_filter(), **form.filters()
            )
            page = Paginator(dossiers, PAGE_SIZE).get_page(request.GET.get("page"))
        except DossierNotFound as exc:
            raise Http404 from exc
        described = form.described()
        if form.cleaned_data.get("step"):
            described.append((_("Bước xử lý"), form.step_filter() or _("Chưa vào bước nào")))
        context.update(
            valid=True, page=page, figure_label=FIGURE_LABELS[figure], described=described,
            count=number(page.paginator.count), page_query=form.query(),
            back_query=form.query(figure=None, step=None),
        )
    return render(request, "web/managers/dossiers.html", context)


def _export(request, kind: str) -> HttpResponse:
    form = IndicatorFilterForm(request.GET, user=request.user, today=_today())
    if not form.is_valid():
        context = {"form": form, "title": _("Chỉ số phục vụ người dân, doanh nghiệp")}
        return render(request, "web/managers/dashboard.html", context, status=400)
    try:
        rows = indicator_rows(user=request.user, **form.filters())
    except DossierNotFound as exc:
        raise Http404 from exc
    data = form.cleaned_data
    name = f"chi-so-{data['month_from']}_{data['month_to']}"
    if kind == "csv":
        return exports.csv_response(rows, f"{name}.csv")
    return exports.xlsx_response(rows, f"{name}.xlsx", described=form.described())


@require_GET
@supervisor_required
def export_csv(request):
    return _export(request, "csv")


@require_GET
@supervisor_required
def export_xlsx(request):
    return _export(request, "xlsx")

"""The Decision 766 scorecard page: our six groups beside the national portal's figures, and
the dossiers behind every count (those that explain a difference first)."""

from datetime import date
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from dossiers.exceptions import InvalidFormData, ScorecardForbidden
from dossiers.models import Dossier
from dossiers.selectors.indicators import indicator_scope
from dossiers.selectors.scorecard import (
    COUNT_LABELS,
    GROUP_LABELS,
    PROCEDURE_SETS,
    RATIOS,
    SETS,
    scorecard,
    scorecard_scope,
    scorecard_set,
)
from dossiers.services.scorecard import national_scorecard
from portal.api.fields import REPORT_DAY_MAX, REPORT_DAY_MIN

from ..access import supervisor_required
from .forms import CHOOSE
from .views import _today

PAGE_SIZE = 25
# The dossiers that explain a difference with the national portal's figures.
EXPLAIN = ("not_synced", "synced_late", "status_differs")
EXPLAIN_SHOWN = 10
STATE_LABELS = dict(Dossier.State.choices)


def points(value) -> str:
    """12.5 -> "12,5"; no value -> "—"."""
    if value is None:
        return "—"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


# The browser's date picker offers only the days a report can be asked for; the form checks
# them again (a typed or crafted day outside them is explained next to its field).
DAY_INPUT = {"type": "date", "min": REPORT_DAY_MIN.isoformat(), "max": REPORT_DAY_MAX.isoformat()}


class ScorecardForm(forms.Form):
    agency = forms.ChoiceField(label=gettext_lazy("Cơ quan"), required=False,
                               error_messages=CHOOSE)
    procedure = forms.TypedChoiceField(
        label=gettext_lazy("Thủ tục"), required=False, coerce=int, empty_value=None,
        error_messages=CHOOSE,
    )
    date_from = forms.DateField(
        label=gettext_lazy("Từ ngày"), widget=forms.DateInput(attrs=DAY_INPUT),
        error_messages={"required": gettext_lazy("Hãy nhập ngày bắt đầu."),
                        "invalid": gettext_lazy("Ngày không hợp lệ (ví dụ 01/03/2025).")},
    )
    date_to = forms.DateField(
        label=gettext_lazy("Đến ngày"), widget=forms.DateInput(attrs=DAY_INPUT),
        error_messages={"required": gettext_lazy("Hãy nhập ngày kết thúc."),
                        "invalid": gettext_lazy("Ngày không hợp lệ (ví dụ 31/03/2025).")},
    )
    PARAMS = ("agency", "procedure", "date_from", "date_to")

    def __init__(self, data, *, user, today: date):
        agencies, procedures = indicator_scope(user=user)
        agencies = list(agencies)
        first = today.replace(day=1)
        defaults = {"date_from": first.isoformat(), "date_to": today.isoformat()}
        if len(agencies) == 1:
            defaults["agency"] = agencies[0].code
        super().__init__({**defaults, **{k: v for k, v in data.items() if k in self.PARAMS}})
        choices = [(a.code, a.name) for a in agencies]
        if len(agencies) != 1:
            choices.insert(0, ("", _("Tất cả cơ quan")))
        self.fields["agency"].choices = choices
        by_agency: dict = {}
        for p in procedures.select_related("agency"):
            by_agency.setdefault(p.agency.name, []).append((p.pk, p.name))
        self.fields["procedure"].choices = [("", _("Tất cả thủ tục")), *by_agency.items()]
        self.agency_names = dict(choices)
        self.procedure_names = {pk: n for group in by_agency.values() for pk, n in group}

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update({
                    "aria-invalid": "true", "aria-describedby": f"id_{name}-error",
                })

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day and not REPORT_DAY_MIN <= day <= REPORT_DAY_MAX:
                self.add_error(name, _("Chọn một ngày từ %(first)s đến %(last)s.") % {
                    "first": REPORT_DAY_MIN.strftime("%d/%m/%Y"),
                    "last": REPORT_DAY_MAX.strftime("%d/%m/%Y")})
                data.pop(name, None)
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("Ngày kết thúc không được trước ngày bắt đầu."))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"agency": data["agency"] or None, "procedure": data["procedure"],
                "date_from": data["date_from"], "date_to": data["date_to"]}

    def query(self, **more) -> str:
        values = {k: self.cleaned_data.get(k) for k in self.PARAMS}
        values.update(more)
        return urlencode({k: v.isoformat() if isinstance(v, date) else v
                          for k, v in values.items() if v not in (None, "")})

    def described(self) -> list[tuple[str, str]]:
        data = self.cleaned_data
        return [
            (_("Cơ quan"), self.agency_names.get(data["agency"] or "", _("Tất cả cơ quan"))),
            (_("Thủ tục"), self.procedure_names.get(data["procedure"], _("Tất cả thủ tục"))),
            (_("Thời gian"), _("từ %(start)s đến %(end)s") % {
                "start": data["date_from"].strftime("%d/%m/%Y"),
                "end": data["date_to"].strftime("%d/%m/%Y")}),
        ]


class ScorecardListForm(ScorecardForm):
    group = forms.CharField(max_length=32)
    count = forms.CharField(max_length=64)
    PARAMS = (*ScorecardForm.PARAMS, "group", "count")

    def clean(self):
        data = super().clean()
        if (data.get("group"), data.get("count")) not in SETS:
            raise forms.ValidationError(_("Không có số liệu này trong bảng điểm."))
        return data


def _bar(score: float | None, maximum: int) -> float:
    """The width of a bar, 0 to 100, in the SVG's own units."""
    return 0.0 if score is None else round(max(0.0, min(1.0, score / maximum)) * 100, 2)


def _rows(card: dict, national, list_url) -> list[dict]:
    rows = []
    for g in card["groups"]:
        theirs = national.groups.get(g["key"]) if national else None
        counts = [
            {"name": name, "label": COUNT_LABELS.get(name, name),
             "value": points(value) if name in RATIOS else value,
             "href": None if name in RATIOS else list_url(g["key"], name)}
            for name, value in g["counts"].items()
        ]
        rows.append({
            "key": g["key"], "label": GROUP_LABELS[g["key"]], "max": g["max"],
            "computed_max": g["computed_max"], "ours": g["score"], "ours_text": points(g["score"]),
            "theirs": theirs, "theirs_text": points(theirs),
            "difference": None if theirs is None else points(round(g["score"] - theirs, 2)),
            "ours_bar": _bar(g["score"], g["max"]), "theirs_bar": _bar(theirs, g["max"]),
            "computed_bar": _bar(g["computed_max"], g["max"]), "counts": counts,
        })
    return rows


@require_GET
@supervisor_required
def scorecard_page(request):
    """`/quan-ly/chi-so/bang-diem/`: the scorecard of a period beside the national portal's."""
    form = ScorecardForm(request.GET, user=request.user, today=_today())
    context = {"form": form, "title": _("Bảng điểm chất lượng phục vụ (Quyết định 766/QĐ-TTg)")}
    status = 200
    if form.is_valid():
        try:
            scope = scorecard_scope(user=request.user, **form.filters())
        except ScorecardForbidden:
            return render(request, "web/managers/scorecard.html", context, status=403)
        card = scorecard(scope=scope)
        national = (national_scorecard(agency_code=scope.agency, date_from=scope.date_from,
                                       date_to=scope.date_to) if scope.agency else None)
        base = reverse("web:managers:scorecard_dossiers")

        def list_url(group: str, count: str) -> str:
            return f"{base}?{form.query(group=group, count=count)}"

        transparency = next(g for g in card["groups"] if g["key"] == "transparency")
        explain = []
        for name in EXPLAIN:
            dossiers = list(scorecard_set(scope=scope, group="transparency",
                                          count=name)[:EXPLAIN_SHOWN])
            for d in dossiers:
                d.state_at_end_label = STATE_LABELS.get(d.state_at_end, "—")
            explain.append({
                "name": name, "label": COUNT_LABELS[name], "count": transparency["counts"][name],
                "dossiers": dossiers,
                "href": list_url("transparency", name),
            })
        context.update(
            valid=True, card=card, rows=_rows(card, national, list_url), national=national,
            national_total=points(national.total) if national else "—",
            total=points(card["total"]), computed_max=card["computed_max"],
            described=form.described(), all_agencies=scope.agency is None, explain=explain,
            shown=EXPLAIN_SHOWN,
        )
    elif form.errors:
        status = 400
    return render(request, "web/managers/scorecard.html", context, status=status)


@require_GET
@supervisor_required
def scorecard_dossiers(request):
    """`/quan-ly/chi-so/bang-diem/ho-so/`: what one count of the scorecard counts."""
    form = ScorecardListForm(request.GET, user=request.user, today=_today())
    context = {"form": form, "title": _("Hồ sơ theo bảng điểm")}
    if not form.is_valid():
        return render(request, "web/managers/scorecard_dossiers.html", context, status=400)
    group, count = form.cleaned_data["group"], form.cleaned_data["count"]
    try:
        scope = scorecard_scope(user=request.user, **form.filters())
        items = scorecard_set(scope=scope, group=group, count=count)
    except ScorecardForbidden:
        return render(request, "web/managers/scorecard_dossiers.html", context, status=403)
    except InvalidFormData:
        return render(request, "web/managers/scorecard_dossiers.html", context, status=400)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        if hasattr(item, "state_at_end"):
            item.state_at_end_label = STATE_LABELS.get(item.state_at_end, "—")
    context.update(
        valid=True, page=page, procedures=(group, count) in PROCEDURE_SETS,
        group_label=GROUP_LABELS[group], count_label=COUNT_LABELS.get(count, count),
        described=form.described(), page_query=form.query(group=group, count=count),
        back_query=form.query(),
    )
    return render(request, "web/managers/scorecard_dossiers.html", context)

"""The filter of the indicator pages: agency, procedure, channel and a period of whole months."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier
from dossiers.selectors.indicators import (
    FIGURE_LABELS,
    FIGURES,
    PORTAL_CHANNELS,
    indicator_first_day,
    indicator_scope,
)

# What the channel filter offers: the two portals file dossiers the same way.
CHANNEL_CHOICES = [
    ("", _("Tất cả các kênh")),
    ("online", _("Trực tuyến")),
    ("counter", _("Trực tiếp tại Bộ phận Một cửa")),
    ("post", _("Bưu chính công ích")),
    ("portal", _("Từ Cổng Dịch vụ công quốc gia, tỉnh")),
]
CHANNEL_GROUPS = {
    "online": [Dossier.Channel.ONLINE],
    "counter": [Dossier.Channel.COUNTER],
    "post": [Dossier.Channel.POST],
    "portal": list(PORTAL_CHANNELS),
}
DEFAULT_MONTHS = 12
CHOOSE = {"invalid_choice": _("Hãy chọn một giá trị trong danh sách."),
          "required": _("Hãy chọn một giá trị.")}
# A step filter of "-": the dossiers between two steps (no current step).
NO_STEP = "-"


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def month_end(key: str) -> date:
    start = month_start(key)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    keys, day = [], month_start(first)
    while month_key(day) <= last:
        keys.append(month_key(day))
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def month_label(key: str) -> str:
    return f"{key[5:]}/{key[:4]}"


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class IndicatorFilterForm(forms.Form):
    agency = forms.ChoiceField(label=_("Cơ quan"), required=False, error_messages=CHOOSE)
    procedure = forms.TypedChoiceField(
        label=_("Thủ tục"), required=False, coerce=int, empty_value=None, error_messages=CHOOSE
    )
    channel = forms.ChoiceField(
        label=_("Kênh nộp"), required=False, choices=CHANNEL_CHOICES, error_messages=CHOOSE
    )
    month_from = forms.ChoiceField(label=_("Từ tháng"), error_messages=CHOOSE)
    month_to = forms.ChoiceField(label=_("Đến tháng"), error_messages=CHOOSE)

    PARAMS = ("agency", "procedure", "channel", "month_from", "month_to")

    def __init__(self, data, *, user, today: date):
        agencies, procedures = indicator_scope(user=user)
        agencies = list(agencies)
        last = month_key(today)
        first_default = month_key(_shift_months(today, -(DEFAULT_MONTHS - 1)))
        first_day = indicator_first_day(user=user)
        first = min(first_default, month_key(first_day)) if first_day else first_default
        defaults = {"month_from": first_default, "month_to": last}
        if len(agencies) == 1:
            defaults["agency"] = agencies[0].code
        merged = {**defaults, **{k: v for k, v in data.items() if k in self.PARAMS}}
        super().__init__(merged)
        agency_choices = [(a.code, a.name) for a in agencies]
        if len(agencies) != 1:
            agency_choices.insert(0, ("", _("Tất cả cơ quan")))
        self.fields["agency"].choices = agency_choices
        by_agency: dict = {}
        for p in procedures.select_related("agency"):
            by_agency.setdefault(p.agency.name, []).append((p.pk, p.name))
        self.fields["procedure"].choices = [("", _("Tất cả thủ tục")), *by_agency.items()]
        months = [(k, month_label(k)) for k in months_between(first, last)]
        self.fields["month_from"].choices = months
        self.fields["month_to"].choices = months
        self.agency_names = dict(agency_choices)
        self.procedure_names = {pk: name for group in by_agency.values() for pk, name in group}

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:  # each error is read with its field
                self.fields[name].widget.attrs.update({
                    "aria-invalid": "true", "aria-describedby": f"id_{name}-error",
                })

    def clean(self):
        data = super().clean()
        start, end = data.get("month_from"), data.get("month_to")
        if start and end and start > end:
            self.add_error("month_to", _("Tháng kết thúc không được trước tháng bắt đầu."))
        return data

    # --- after validation ---

    def filters(self) -> dict:
        """The keyword arguments of the indicator selectors."""
        data = self.cleaned_data
        return {
            "agency": data["agency"] or None,
            "procedure": data["procedure"],
            "channels": CHANNEL_GROUPS.get(data["channel"]),
            "date_from": month_start(data["month_from"]),
            "date_to": month_end(data["month_to"]),
        }

    def months(self) -> list[str]:
        return months_between(self.cleaned_data["month_from"], self.cleaned_data["month_to"])

    def params(self, **overrides) -> dict:
        values = {k: self.cleaned_data.get(k) for k in self.PARAMS}
        values.update(overrides)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def query(self, **overrides) -> str:
        return urlencode(self.params(**overrides))

    def described(self) -> list[tuple[str, str]]:
        """The filter in words, for headings and exports."""
        data = self.cleaned_data
        return [
            (_("Cơ quan"), self.agency_names.get(data["agency"] or "", _("Tất cả cơ quan"))),
            (_("Thủ tục"), self.procedure_names.get(data["procedure"], _("Tất cả thủ tục"))),
            (_("Kênh nộp"), dict(CHANNEL_CHOICES)[data["channel"] or ""]),
            (_("Thời gian"), _("từ tháng %(start)s đến tháng %(end)s") % {
                "start": month_label(data["month_from"]), "end": month_label(data["month_to"])}),
        ]


class DossierListForm(IndicatorFilterForm):
    figure = forms.ChoiceField(
        label=_("Số liệu"), choices=[(f, FIGURE_LABELS[f]) for f in FIGURES],
        error_messages=CHOOSE,
    )
    step = forms.CharField(label=_("Bước xử lý"), required=False, max_length=255)

    PARAMS = (*IndicatorFilterForm.PARAMS, "figure", "step")

    def step_filter(self) -> str | None:
        step = self.cleaned_data.get("step")
        if not step:
            return None
        return "" if step == NO_STEP else step

"""The calendar correction in the admin: after days off were added or removed, a preview of
the dossiers it moves (and those it cannot rebuild, and the completed ones whose outcome
would change), then, confirmed with a reason, the same re-timing `manage.py retime_dossiers`
applies (`services.retime`)."""

import re
from datetime import date, datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from portal.roles import Role

from .models import Dossier
from .services.retime import MAX_DAYS, retime_apply, retime_plan


def days_parse(text: str) -> list[date]:
    """'05/03/2026, 2026-03-06' -> the days; each written dd/mm/yyyy or yyyy-mm-dd."""
    days = []
    for token in re.split(r"[\s,;]+", (text or "").strip()):
        if not token:
            continue
        for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                days.append(datetime.strptime(token, pattern).date())  # noqa: DTZ007 - a day
                break
            except ValueError:
                continue
        else:
            raise forms.ValidationError(
                _("“%(value)s” không phải là ngày hợp lệ (dạng dd/mm/yyyy).") % {"value": token})
    return days


class RetimeDaysForm(forms.Form):
    days = forms.CharField(
        label=gettext_lazy("Các ngày đã điều chỉnh"), max_length=2000,
        help_text=gettext_lazy("Ngày nghỉ đã thêm hoặc đã bỏ, dạng dd/mm/yyyy, cách nhau bởi "
                               "dấu phẩy; tối đa %(max)d ngày.") % {"max": MAX_DAYS},
        error_messages={"required": gettext_lazy("Vui lòng nhập ít nhất một ngày.")},
    )

    def clean_days(self) -> list[date]:
        days = sorted(set(days_parse(self.cleaned_data["days"])))
        if not days:
            raise forms.ValidationError(_("Vui lòng nhập ít nhất một ngày."))
        if len(days) > MAX_DAYS:
            raise forms.ValidationError(
                _("Mỗi lần điều chỉnh tối đa %(max)d ngày.") % {"max": MAX_DAYS})
        return days


class RetimeApplyForm(RetimeDaysForm):
    reason = forms.CharField(
        label=gettext_lazy("Lý do điều chỉnh"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Ghi trên lịch sử xử lý của từng hồ sơ được dời hạn và gửi "
                               "cho người nộp."),
        error_messages={"required": gettext_lazy(
            "Vui lòng nêu lý do điều chỉnh: lý do được ghi trên lịch sử từng hồ sơ.")},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(
                _("Vui lòng nêu lý do điều chỉnh: lý do được ghi trên lịch sử từng hồ sơ."))
        return reason


def _mark_errors(form) -> None:
    """Each field in error says so to assistive technology, pointing at its message."""
    for name in form.errors:
        if name not in form.fields:
            continue
        bound = form[name]
        described = [f"{bound.id_for_label}_error"]
        if form.fields[name].help_text:
            described.append(f"{bound.id_for_label}_helptext")
        form.fields[name].widget.attrs.update(
            {"aria-invalid": "true", "aria-describedby": " ".join(described)})


def _outcome_rows(plan) -> list[tuple]:
    labels = dict(Dossier.Outcome.choices)
    return [(item, labels.get(item.outcome, item.outcome),
             labels.get(item.new_outcome, item.new_outcome))
            for item in (plan.outcomes if plan else ())]


def _days_text(days) -> str:
    return ", ".join(d.strftime("%d/%m/%Y") for d in days)


def retime_allowed(model_admin, request) -> bool:
    """Administrators only (the portal's configuration role, or a superuser)."""
    user = request.user
    return bool(user.is_active and (user.is_superuser or user.has_role(Role.ADMIN))
                and model_admin.has_change_permission(request))


@require_http_methods(["GET", "POST"])
def retime_view(request, model_admin):
    """GET: the preview for the days given (nothing changes). POST: apply, with a reason."""
    if not retime_allowed(model_admin, request):
        raise PermissionDenied
    plan = applied = None
    if request.method == "POST":
        form = RetimeApplyForm(request.POST)
        if form.is_valid():
            applied = retime_apply(days=form.cleaned_data["days"], actor=request.user,
                                   reason=form.cleaned_data["reason"])
            model_admin.message_user(request, _(
                "Đã dời hạn %(moved)d hồ sơ; %(left)d hồ sơ không tính lại được (giữ nguyên)."
            ) % {"moved": len(applied.moves), "left": len(applied.unrebuilt)})
            form = None
        elif "days" not in form.errors:
            plan = retime_plan(days=form.cleaned_data["days"])
    else:
        given = request.GET.getlist("day")
        text = request.GET.get("days") or ", ".join(given)
        form = RetimeDaysForm({"days": text}) if text else RetimeDaysForm()
        if text and form.is_valid():
            plan = retime_plan(days=form.cleaned_data["days"])
            form = RetimeApplyForm(initial={"days": _days_text(form.cleaned_data["days"])})
    if form is not None:
        _mark_errors(form)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Điều chỉnh hạn hồ sơ theo lịch làm việc mới"),
        "form": form, "plan": plan, "applied": applied,
        "apply_form": isinstance(form, RetimeApplyForm) and plan is not None,
        "outcome_rows": _outcome_rows(applied or plan),
    }
    return TemplateResponse(request, "admin/dossiers/holidayoverride/retime.html", context,
                            status=400 if form is not None and form.errors else 200)

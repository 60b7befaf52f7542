"""Forms of the officers' pages: the queue's filters and the moves on a dossier."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier, Result
from dossiers.services.transitions import REASON_REQUIRED, SPECS


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the address (GET); every field may stay empty."""

    ASSIGNEE_CHOICES = [("", _("Tất cả")), ("me", _("Của tôi")), ("none", _("Chưa giao"))]
    DUE_CHOICES = [("", _("Mọi thời hạn")), ("soon", _("Sắp đến hạn")),
                   ("overdue", _("Quá hạn"))]

    code = forms.CharField(label=_("Mã hồ sơ"), required=False, max_length=64)
    state = forms.ChoiceField(label=_("Trạng thái"), required=False)
    procedure = forms.TypedChoiceField(label=_("Thủ tục"), required=False, coerce=int,
                                       empty_value=None)
    assignee = forms.ChoiceField(label=_("Người xử lý"), required=False,
                                 choices=ASSIGNEE_CHOICES)
    due = forms.ChoiceField(label=_("Thời hạn"), required=False, choices=DUE_CHOICES)

    def __init__(self, *args, states=(), procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("Mọi trạng thái")), *[
            (s, Dossier.State(s).label) for s in states
        ]]
        self.fields["procedure"].choices = [("", _("Mọi thủ tục")), *[
            (p.pk, f"{p.national_code} – {p.name}" if p.national_code else p.name)
            for p in procedures
        ]]
        self.fields["code"].widget.attrs.update({"type": "search", "autocomplete": "off"})


class MoveForm(forms.Form):
    """One workflow move on a dossier: the version read with the page, and a reason when the
    move takes one (required where the transition's spec says so)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Lý do"), max_length=4000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, name: str, components=(), **kwargs):
        self.name = name
        self.spec = SPECS[name]
        # Several moves share one page: their field ids must not collide.
        kwargs.setdefault("auto_id", f"id_{name}_%s")
        super().__init__(*args, **kwargs)
        if not self.spec.takes_reason:
            del self.fields["reason"]
        elif self.spec.reason == REASON_REQUIRED:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = _("Vui lòng nêu lý do.")
        if name == "request_supplement":
            self.fields["reason"].label = _("Nội dung cần bổ sung, hoàn thiện")
            self.fields["reason"].help_text = _("Mỗi nội dung một dòng; ghi rõ lý do.")
            self.fields["components"] = forms.MultipleChoiceField(
                label=_("Thành phần hồ sơ cần bổ sung"), required=False,
                widget=forms.CheckboxSelectMultiple,
                choices=[(c.code, c.name) for c in components],
            )
            self.order_fields(["version", "components", "reason"])
        if name in ("return_unanswered", "refuse_unanswered"):
            self.fields["reason"].help_text = _(
                "Để trống: ghi những nội dung đã yêu cầu bổ sung mà người nộp không bổ sung.")
        if name == "issue_result":
            self.fields["kind"] = forms.ChoiceField(
                label=_("Loại kết quả"),
                choices=[(k, label) for k, label in Result.Kind.choices
                         if k != Result.Kind.REFUSAL],
            )
            self.fields["number"] = forms.CharField(
                label=_("Số văn bản"), max_length=64,
                help_text=_("Số của giấy phép hoặc quyết định, ví dụ 125/GP-SCT."),
                error_messages={"required": _("Vui lòng nhập số văn bản.")},
            )

    def reason_text(self) -> str:
        """The reason as the service records it; for a supplement, one line per thing to
        supply (the components ticked, then the officer's own lines), as form 02 lists them."""
        reason = self.cleaned_data.get("reason", "")
        picked = self.cleaned_data.get("components") or []
        if picked:
            names = dict(self.fields["components"].choices)
            reason = "\n".join([*(str(names[c]) for c in picked), reason]).strip()
        return reason


class AssignForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    assignee_id = forms.TypedChoiceField(label=_("Giao cho"), coerce=int,
                                         error_messages={"required": _("Chọn cán bộ.")})

    def __init__(self, *args, officers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee_id"].choices = [("", _("— Chọn cán bộ —")), *[
            (u.pk, u.display_name) for u in officers
        ]]


class ClaimForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class SignatureDecisionForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=_("Quyết định"), widget=forms.RadioSelect, coerce=lambda v: v == "1",
        choices=[("1", _("Chấp nhận chữ ký")), ("0", _("Không chấp nhận"))],
        error_messages={"required": _("Chọn chấp nhận hoặc không chấp nhận.")},
    )
    note = forms.CharField(label=_("Ghi chú (căn cứ quyết định)"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": _("Vui lòng ghi căn cứ quyết định.")})


class ApologyForm(forms.Form):
    new_appointment_at = forms.DateTimeField(
        label=_("Ngày hẹn trả kết quả mới"), input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": _("Vui lòng chọn ngày hẹn mới."),
                        "invalid": _("Ngày giờ không hợp lệ.")},
    )
    reason = forms.CharField(label=_("Lý do chậm trễ"), max_length=4000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Vui lòng nêu lý do.")})

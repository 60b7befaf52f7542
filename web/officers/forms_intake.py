"""Forms of the reception desk: a paper dossier registered at the desk, the rating given there."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier, Payment


class _Described(forms.Form):
    """Every field with an error points at its message and is marked invalid."""

    def mark_invalid(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            described = [f"{bound.auto_id}_helptext"] if field.help_text else []
            if bound.errors:
                described.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)


class ProcedurePickForm(forms.Form):
    """Which procedure the paper dossier is for: every procedure of the province (Decree
    118/2025: a desk takes dossiers for other agencies too), grouped by agency."""

    thu_tuc = forms.TypedChoiceField(label=_("Thủ tục hành chính"), coerce=int)

    def __init__(self, *args, procedures=(), **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict = {}
        for p in procedures:
            label = f"{p.national_code} – {p.name}" if p.national_code else p.name
            groups.setdefault(p.agency.name, []).append((p.pk, label))
        self.fields["thu_tuc"].choices = [("", _("— Chọn thủ tục —")), *groups.items()]
        self.fields["thu_tuc"].error_messages["required"] = _("Vui lòng chọn thủ tục.")
        self.fields["thu_tuc"].error_messages["invalid_choice"] = _("Thủ tục không có trong danh mục.")


class IntakeForm(_Described):
    """The applicant as written on the paper form, the channel, and one scan per component."""

    channel = forms.ChoiceField(
        label=_("Hình thức nộp"), widget=forms.RadioSelect, initial=Dossier.Channel.COUNTER,
        choices=[(Dossier.Channel.COUNTER, _("Nộp trực tiếp tại Bộ phận Một cửa")),
                 (Dossier.Channel.POST, _("Nhận qua dịch vụ bưu chính công ích"))],
    )
    applicant_kind = forms.ChoiceField(
        label=_("Người nộp là"), widget=forms.RadioSelect, initial="citizen",
        choices=[("citizen", _("Cá nhân")), ("business", _("Tổ chức, doanh nghiệp"))],
    )
    applicant_name = forms.CharField(label=_("Họ và tên / tên tổ chức"), max_length=255,
                                     widget=forms.TextInput(attrs={"autocomplete": "off"}))
    id_number = forms.CharField(
        label=_("Số CCCD hoặc mã số thuế"), max_length=14,
        help_text=_("Cá nhân: số CCCD 12 chữ số. Tổ chức: mã số thuế. Người nộp đăng nhập "
                    "sau này bằng số này sẽ thấy hồ sơ của mình."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    phone = forms.CharField(label=_("Số điện thoại"), max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    email = forms.CharField(label=_("Thư điện tử"), max_length=254, required=False,
                            help_text=_("Không bắt buộc; dùng để báo tiến độ hồ sơ."),
                            widget=forms.TextInput(attrs={"type": "email", "autocomplete": "off"}))
    address = forms.CharField(label=_("Địa chỉ"), max_length=255)
    on_behalf_name = forms.CharField(
        label=_("Người nộp thay (nếu có)"), max_length=255, required=False,
        help_text=_("Người được ủy quyền mang hồ sơ đến nộp."),
    )

    def __init__(self, *args, components=(), fee_due: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("applicant_name", "id_number", "phone", "address"):
            self.fields[name].error_messages["required"] = _("Vui lòng nhập mục này.")
        self.scan_names = []
        for component in components:
            name = f"scan_{component.code}"
            accepted = component.accepted_types or ["application/pdf"]
            self.fields[name] = forms.FileField(
                label=component.name, required=False,
                help_text=_("Bản quét của bản giấy. Định dạng: %(types)s.") % {
                    "types": ", ".join(t.split("/")[-1].upper() for t in accepted)},
                widget=forms.ClearableFileInput(attrs={"accept": ",".join(accepted)}),
            )
            self.fields[name].mandatory = component.mandatory
            self.scan_names.append(name)
        if fee_due:
            self.fields["fee_channel"] = forms.ChoiceField(
                label=_("Phí, lệ phí đã thu"), widget=forms.RadioSelect, required=False,
                choices=[(Payment.Channel.CASH, _("Tiền mặt")),
                         (Payment.Channel.TRANSFER, _("Chuyển khoản"))],
            )
            self.fields["fee_channel"].mandatory = True

    @property
    def scan_fields(self):
        return [self[name] for name in self.scan_names]

    @property
    def identity_fields(self):
        return [self[n] for n in ("applicant_kind", "applicant_name", "id_number", "phone",
                                  "email", "address", "on_behalf_name")]


class DeskRatingForm(_Described):
    score = forms.TypedChoiceField(
        label=_("Mức độ hài lòng của người nộp"), coerce=int, widget=forms.RadioSelect,
        choices=[(5, _("5 – Rất hài lòng")), (4, _("4 – Hài lòng")), (3, _("3 – Bình thường")),
                 (2, _("2 – Chưa hài lòng")), (1, _("1 – Rất không hài lòng"))],
        error_messages={"required": _("Vui lòng chọn mức độ hài lòng.")},
    )
    comment = forms.CharField(label=_("Ý kiến của người nộp"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))

"""Forms of the public pages: the catalog search and the status lookup."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CatalogSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Tìm thủ tục"), required=False, max_length=200,
        widget=forms.TextInput(attrs={
            "type": "search", "placeholder": _("Tên hoặc mã TTHC"),
            "autocomplete": "off", "aria-describedby": "id_q_helptext",
        }),
    )
    sector = forms.ChoiceField(label=_("Lĩnh vực"), required=False)
    agency = forms.ChoiceField(label=_("Cơ quan giải quyết"), required=False)

    def __init__(self, *args, sectors=(), agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = [("", _("Tất cả lĩnh vực")), *((s, s) for s in sectors)]
        self.fields["agency"].choices = [("", _("Tất cả cơ quan")), *agencies]

    def criteria(self) -> dict:
        """What to search for; an unknown sector or agency (an old link) is dropped."""
        if not self.is_bound:
            return {"text": "", "sector": "", "agency": ""}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "text": data.get("q", "") or self.data.get("q", "")[:200],
            "sector": data.get("sector", ""), "agency": data.get("agency", ""),
        }


class LookupForm(forms.Form):
    code = forms.CharField(
        label=_("Mã hồ sơ"), max_length=64,
        help_text=_("In trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả, ví dụ: SCT-250303-0001."),
        error_messages={"required": _("Nhập mã hồ sơ."),
                        "max_length": _("Mã hồ sơ không quá %(limit_value)d ký tự.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "characters"}),
    )
    secret = forms.CharField(
        label=_("Mã tra cứu"), max_length=64,
        help_text=_("Mã bí mật in cạnh mã hồ sơ trên Giấy tiếp nhận; chỉ người nộp hồ sơ có."),
        error_messages={"required": _("Nhập mã tra cứu."),
                        "max_length": _("Mã tra cứu không quá %(limit_value)d ký tự.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "none"}),
    )

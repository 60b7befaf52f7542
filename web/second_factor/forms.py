from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """One field for the 6-digit code of the app, or a recovery code."""

    code = forms.CharField(
        label=_("Mã xác thực"), max_length=32, strip=True,
        error_messages={"required": _("Vui lòng nhập mã xác thực.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}),
    )

    def __init__(self, *args, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["code"].help_text = help_text

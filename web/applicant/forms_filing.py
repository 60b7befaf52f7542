"""Forms of the filing wizard (the procedure's own form is built by `schema_form`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .schema_form import SchemaForm

__all__ = ["DossierStartForm", "DocumentUploadForm", "SchemaForm"]


class DossierStartForm(forms.Form):
    on_behalf_name = forms.CharField(
        label=_("Người được ủy quyền nộp thay (nếu có)"), max_length=255, required=False,
        help_text=_("Để trống nếu bạn tự nộp hồ sơ của mình."),
    )


class DocumentUploadForm(forms.Form):
    component = forms.CharField(max_length=64)
    file = forms.FileField(
        label=_("Chọn tệp"), allow_empty_file=True,
        error_messages={"required": _("Vui lòng chọn tệp để tải lên.")},
    )

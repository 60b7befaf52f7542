"""Forms of the applicant's dossier pages: withdrawal and rating (the services hold the rules)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.services.queue import RATING_SCORES

# What each score means to the applicant (the service takes the numbers).
SCORE_LABELS = {
    5: _("Rất hài lòng"),
    4: _("Hài lòng"),
    3: _("Tạm hài lòng"),
    2: _("Không hài lòng"),
    1: _("Rất không hài lòng"),
}


class _Described(forms.Form):
    """Every field with an error points at its message (aria-describedby) and is marked
    invalid, so screen readers read the message with the field."""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class WithdrawForm(_Described):
    reason = forms.CharField(
        label=_("Lý do rút hồ sơ"), max_length=2000, strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Vui lòng nêu lý do rút hồ sơ.")},
    )
    # The dossier's version when the page was shown: a change in between is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class RatingForm(_Described):
    score = forms.TypedChoiceField(
        label=_("Mức độ hài lòng"), coerce=int,
        choices=[(score, SCORE_LABELS[score]) for score in sorted(RATING_SCORES, reverse=True)],
        widget=forms.RadioSelect,
        error_messages={"required": _("Vui lòng chọn mức độ hài lòng."),
                        "invalid_choice": _("Vui lòng chọn một mức trong danh sách.")},
    )
    comment = forms.CharField(
        label=_("Góp ý (không bắt buộc)"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

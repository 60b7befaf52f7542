"""Small display helpers shared by every page: money, Vietnam time, state badges."""

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

# The badge colour of each dossier state (the labels are the model's own, in Vietnamese).
_STATE_TONE = {
    "draft": "", "submitted": "info", "needs_completion": "warn", "rejected": "danger",
    "processing": "info", "awaiting_supplement": "warn", "suspended": "warn",
    "pending_approval": "info", "approved": "ok", "refused": "danger", "result_ready": "ok",
    "returned": "ok", "withdrawn": "", "returned_unanswered": "danger",
}


@register.filter
def vnd(amount) -> str:
    """12500000 -> "12.500.000 đ" (Vietnamese thousands separator)."""
    if amount in (None, ""):
        return "—"
    return f"{int(amount):,} đ".replace(",", ".")


@register.filter
def vntime(value, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """An aware instant shown in Vietnam time (the portal's time zone), 24-hour clock."""
    if not value:
        return "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(fmt)


@register.filter
def vndate(value) -> str:
    return vntime(value, "%d/%m/%Y")


@register.simple_tag
def state_badge(dossier) -> str:
    tone = _STATE_TONE.get(dossier.state, "")
    return format_html('<span class="badge{}">{}</span>', f" badge-{tone}" if tone else "",
                       dossier.get_state_display())

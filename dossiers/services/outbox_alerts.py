"""What administrators must fix for the outbox to flow: shown at the top of its admin list."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import RemoteSystem

from ..models import OutboundMessage


@dataclass(frozen=True)
class OutboxAlert:
    """A portal whose latest attempt failed on our side, or messages held for a procedure."""

    attention: str
    system: str = ""
    at: datetime | None = None
    detail: str = ""
    count: int = 0

    @property
    def text(self) -> str:
        label = OutboundMessage.Attention(self.attention).label
        if self.attention == OutboundMessage.Attention.PROCEDURE_CODE:
            return _("%(label)s: %(count)d thông điệp của thủ tục “%(name)s” đang bị giữ lại; "
                     "nhập mã TTHC quốc gia cho thủ tục để chúng tự gửi.") % {
                "label": label, "count": self.count, "name": self.detail}
        return _("%(system)s: %(label)s (lần gửi gần nhất %(at)s): %(detail)s. Các thông điệp "
                 "được gửi lại theo lịch; sửa xong, chọn chúng và “Gửi lại ngay”.") % {
            "system": self.system, "label": label, "detail": self.detail[:300].rstrip(" ."),
            "at": timezone.localtime(self.at).strftime("%d/%m/%Y %H:%M") if self.at else "—"}


def outbox_alerts() -> list[OutboxAlert]:
    """Per portal, an alert when its latest attempt failed for a cause of ours (credentials,
    an unreadable answer, configuration); and the held messages, per procedure."""
    alerts = []
    for system in RemoteSystem.values:
        latest = (OutboundMessage.objects.filter(system=system, last_attempt_at__isnull=False)
                  .order_by("-last_attempt_at", "-id")
                  .values("attention", "last_attempt_at", "last_error").first())
        if latest and latest["attention"]:
            alerts.append(OutboxAlert(
                attention=latest["attention"], system=RemoteSystem(system).label,
                at=latest["last_attempt_at"],
                detail=latest["last_error"],
            ))
    held = (OutboundMessage.objects.filter(status=OutboundMessage.Status.HELD)
            .values("dossier__procedure__name").annotate(count=Count("id"))
            .order_by("dossier__procedure__name"))
    alerts += [OutboxAlert(attention=OutboundMessage.Attention.PROCEDURE_CODE,
                           detail=row["dossier__procedure__name"], count=row["count"])
               for row in held]
    return alerts

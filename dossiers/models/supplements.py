"""A request to supplement a dossier under processing: what is missing, by when, and what
happened when the deadline passed without an answer."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .catalog import Procedure
from .dossier import Dossier


class SupplementRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Chờ bổ sung")
        ANSWERED = "answered", _("Đã bổ sung")
        EXPIRED = "expired", _("Quá hạn bổ sung")

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE,
        related_name="supplement_requests",
    )
    items = models.JSONField(_("nội dung cần bổ sung"), default=list)
    reason = models.TextField(_("lý do"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người yêu cầu"), on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("yêu cầu lúc"))
    reply_by = models.DateTimeField(_("hạn bổ sung"), db_index=True)
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.OPEN,
    )
    answered_at = models.DateTimeField(_("bổ sung lúc"), null=True, blank=True)
    expired_at = models.DateTimeField(_("ghi nhận quá hạn lúc"), null=True, blank=True)
    # What the procedure said to do when the deadline passed (copied when it passed).
    expiry_action = models.CharField(
        _("xử lý khi quá hạn"), max_length=16, blank=True,
        choices=Procedure.SupplementExpiry.choices,
    )

    class Meta:
        verbose_name = _("yêu cầu bổ sung hồ sơ")
        verbose_name_plural = _("yêu cầu bổ sung hồ sơ")
        ordering = ["dossier", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(status="open"),
                name="one_open_supplement_request_per_dossier",
            ),
            models.CheckConstraint(
                condition=Q(reply_by__gt=models.F("requested_at")),
                name="supplement_reply_after_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.reply_by:%d/%m/%Y}"

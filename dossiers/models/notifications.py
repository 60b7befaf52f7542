"""Emails owed to people: written with the change that causes them, delivered after the commit
and retried from this row until they go out."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .dossier import Dossier, DossierTransition


class Notification(models.Model):
    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Thay đổi trạng thái (người nộp)")
        OVERDUE = "overdue", _("Quá hạn (cán bộ, lãnh đạo)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENT = "sent", _("Đã gửi")
        SKIPPED = "skipped", _("Không có người nhận")
        FAILED = "failed", _("Gửi không được")

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE, related_name="notifications",
    )
    # No database constraint: the log is checked for rows removed behind our back
    # (`verify_audit`), and such a removal must stay possible to detect, not be blocked here.
    transition = models.ForeignKey(
        DossierTransition, verbose_name=_("thay đổi trạng thái"), null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False,
    )
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING,
    )
    created_at = models.DateTimeField(_("tạo lúc"))
    # While pending: when the next attempt is due; a delivery in progress pushes it forward,
    # so a sender lost mid-send leaves a lease that runs out.
    next_attempt_at = models.DateTimeField(_("gửi lần tới"))
    attempts = models.PositiveSmallIntegerField(_("số lần gửi"), default=0)
    sent_at = models.DateTimeField(_("đã gửi lúc"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)

    class Meta:
        verbose_name = _("thông báo")
        verbose_name_plural = _("thông báo")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"),
                name="notification_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="transition") | Q(transition__isnull=False),
                name="notification_transition_has_row",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.dossier_id} ({self.get_status_display()})"

"""What happened in each process step: who handed the dossier over, who took it, when, the
step's own due time and how it ended (form 05 of Circular 01/2018 prints these rows)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .catalog import ProcessStep
from .dossier import Dossier


class StepRecord(models.Model):
    """One stay of a dossier in one process step; kept when the step ends (the dossier's own
    `step_started_at` and `step_due_at` only hold the current step)."""

    class Outcome(models.TextChoices):
        EARLY = "early", _("Trước hạn")
        ON_TIME = "on_time", _("Đúng hạn")
        LATE = "late", _("Quá hạn")

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE, related_name="step_records",
    )
    step = models.ForeignKey(
        ProcessStep, verbose_name=_("bước"), on_delete=models.PROTECT, related_name="+",
    )
    handed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người giao"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người nhận"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    started_at = models.DateTimeField(_("bắt đầu"))
    due_at = models.DateTimeField(_("hạn của bước"), null=True, blank=True)
    ended_at = models.DateTimeField(_("kết thúc"), null=True, blank=True)
    outcome = models.CharField(
        _("kết quả"), max_length=16, choices=Outcome.choices, blank=True,
    )

    class Meta:
        verbose_name = _("quá trình xử lý bước")
        verbose_name_plural = _("quá trình xử lý các bước")
        ordering = ["dossier", "started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(ended_at__isnull=True),
                name="one_open_step_record_per_dossier",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="step_record_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.step_id} {self.started_at:%d/%m/%Y %H:%M}"

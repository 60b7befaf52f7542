"""The daily summary behind the service indicators."""


from django.db import models
from django.utils.translation import gettext_lazy as _

from .catalog import Agency, Procedure
from .dossier import Dossier


class DailySummary(models.Model):
    """Indicator counts per agency x procedure x channel x local day, kept in step with changes."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=32, choices=Dossier.Channel.choices)
    day = models.DateField()
    received = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    early = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    fee_bearing = models.PositiveIntegerField(default=0)
    paid_online = models.PositiveIntegerField(default=0)
    digitized = models.PositiveIntegerField(default=0)
    results_electronic = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)

    COUNTERS = (
        "received", "completed", "early", "on_time", "late", "refused", "rejected", "withdrawn",
        "fee_bearing", "paid_online", "digitized", "results_electronic", "rated", "rating_sum",
        "satisfied",
    )

    class Meta:
        verbose_name = _("số liệu tổng hợp ngày")
        verbose_name_plural = _("số liệu tổng hợp ngày")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "procedure", "channel", "day"], name="daily_summary_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.procedure_id} {self.channel}"

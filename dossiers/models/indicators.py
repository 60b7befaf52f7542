"""The daily summary behind the service indicators, and its monthly rollup."""

from datetime import date

from django.db import models
from django.db.models import DateField
from django.db.models.functions import Cast, TruncMonth
from django.utils.translation import gettext_lazy as _

from .catalog import Agency, Procedure
from .dossier import Dossier


class SummaryCounts(models.Model):
    """The indicator counts of one agency x procedure x channel over some span of days."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("cơ quan"), on_delete=models.CASCADE, related_name="+",
    )
    procedure = models.ForeignKey(
        Procedure, verbose_name=_("thủ tục"), on_delete=models.CASCADE, related_name="+",
    )
    channel = models.CharField(_("kênh nộp"), max_length=32, choices=Dossier.Channel.choices)
    received = models.PositiveIntegerField(_("đã tiếp nhận"), default=0)
    completed = models.PositiveIntegerField(_("đã giải quyết"), default=0)
    early = models.PositiveIntegerField(_("trước hạn"), default=0)
    on_time = models.PositiveIntegerField(_("đúng hạn"), default=0)
    late = models.PositiveIntegerField(_("quá hạn"), default=0)
    refused = models.PositiveIntegerField(_("từ chối giải quyết"), default=0)
    rejected = models.PositiveIntegerField(_("từ chối tiếp nhận"), default=0)
    withdrawn = models.PositiveIntegerField(_("rút hồ sơ"), default=0)
    fee_bearing = models.PositiveIntegerField(_("có phí, lệ phí"), default=0)
    paid_online = models.PositiveIntegerField(_("thanh toán trực tuyến"), default=0)
    digitized = models.PositiveIntegerField(_("đã số hóa"), default=0)
    results_electronic = models.PositiveIntegerField(_("kết quả điện tử"), default=0)
    rated = models.PositiveIntegerField(_("đã đánh giá"), default=0)
    rating_sum = models.PositiveIntegerField(_("tổng điểm đánh giá"), default=0)
    satisfied = models.PositiveIntegerField(_("hài lòng"), default=0)

    COUNTERS = (
        "received", "completed", "early", "on_time", "late", "refused", "rejected", "withdrawn",
        "fee_bearing", "paid_online", "digitized", "results_electronic", "rated", "rating_sum",
        "satisfied",
    )

    class Meta:
        abstract = True


class DailySummary(SummaryCounts):
    """Indicator counts per agency x procedure x channel x local day, kept in step with changes."""

    day = models.DateField(_("ngày"))

    class Meta:
        verbose_name = _("số liệu tổng hợp ngày")
        verbose_name_plural = _("số liệu tổng hợp ngày")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "procedure", "channel", "day"], name="daily_summary_unique"
            ),
        ]
        # The indicators read a period of days, of one agency or of all of them.
        indexes = [
            models.Index(fields=["agency", "day"], name="daily_summary_agency_day_idx"),
            models.Index(fields=["day"], name="daily_summary_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.procedure_id} {self.channel}"


class MonthlySummary(SummaryCounts):
    """The daily summary added up per local month (`month` is its first day): written in the
    same statement pair as each daily row, so a period of whole months reads a row a month."""

    month = models.DateField(_("tháng"))

    class Meta:
        verbose_name = _("số liệu tổng hợp tháng")
        verbose_name_plural = _("số liệu tổng hợp tháng")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "procedure", "channel", "month"], name="monthly_summary_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "month"], name="monthly_summary_agency_idx"),
            models.Index(fields=["month"], name="monthly_summary_month_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.procedure_id} {self.channel}"


def month_after(day: date) -> date:
    """The first day of the month after `day`'s: the rollup's months are [first, month_after)."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_of_day():
    """The month (its first day) of a daily summary row, as the rollup keys it."""
    return Cast(TruncMonth("day"), DateField())

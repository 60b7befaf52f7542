"""Editable code tables: our states and procedure codes as each remote system knows them."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.models import TimeStampedModel


class RemoteSystem(models.TextChoices):
    NATIONAL = "national", _("Cổng Dịch vụ công quốc gia")
    PROVINCIAL = "provincial", _("Cổng Dịch vụ công cấp tỉnh")


class NationalStatus(models.IntegerChoices):
    NEW = 1, _("Mới đăng ký / Chờ tiếp nhận")
    RECEIVED = 2, _("Đã tiếp nhận")
    NOT_RECEIVED = 3, _("Không được tiếp nhận")
    PROCESSING = 4, _("Đang xử lý")
    SUPPLEMENT_REQUESTED = 5, _("Yêu cầu bổ sung hồ sơ")
    FINANCIAL_OBLIGATION = 6, _("Yêu cầu thực hiện nghĩa vụ tài chính")
    WITHDRAWN = 7, _("Rút hồ sơ")
    STOPPED = 8, _("Dừng xử lý")
    PROCESSED = 9, _("Đã xử lý xong")
    RESULT_RETURNED = 10, _("Đã trả kết quả")


class StatusMapping(TimeStampedModel):
    """Our dossier state (optionally: reached by one transition) -> the remote status code."""

    system = models.CharField(_("hệ thống"), max_length=16, choices=RemoteSystem.choices)
    # Plain strings: this capability app knows nothing of the dossiers app's models.
    state = models.CharField(_("trạng thái của hệ thống"), max_length=32)
    transition = models.CharField(
        _("chỉ khi chuyển bằng thao tác"), max_length=32, blank=True,
        help_text=_("Để trống: mọi cách vào trạng thái này."),
    )
    status_code = models.PositiveSmallIntegerField(
        _("mã trạng thái"), choices=NationalStatus.choices
    )
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("ánh xạ trạng thái")
        verbose_name_plural = _("ánh xạ trạng thái")
        ordering = ["system", "state", "transition"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "state", "transition"], name="status_mapping_unique"
            ),
            models.CheckConstraint(
                condition=Q(status_code__gte=1) & Q(status_code__lte=10),
                name="status_mapping_code_1_to_10",
            ),
        ]

    def __str__(self) -> str:
        via = f" ({self.transition})" if self.transition else ""
        return f"{self.system}: {self.state}{via} -> {self.status_code}"


class ProcedureCodeMapping(TimeStampedModel):
    """Our procedure code -> the remote system's code, where the two differ."""

    system = models.CharField(_("hệ thống"), max_length=16, choices=RemoteSystem.choices)
    local_code = models.CharField(_("mã thủ tục của hệ thống"), max_length=64)
    remote_code = models.CharField(_("mã thủ tục bên ngoài"), max_length=64)

    class Meta:
        verbose_name = _("ánh xạ mã thủ tục")
        verbose_name_plural = _("ánh xạ mã thủ tục")
        ordering = ["system", "local_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "local_code"], name="procedure_mapping_local_unique"
            ),
            models.UniqueConstraint(
                fields=["system", "remote_code"], name="procedure_mapping_remote_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system}: {self.local_code} -> {self.remote_code}"

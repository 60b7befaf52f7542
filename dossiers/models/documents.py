"""Documents of a dossier, one row per version."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.models import TimeStampedModel

from .catalog import DocumentComponent
from .dossier import Dossier


def _document_path(instance: "Document", filename: str) -> str:
    return f"dossiers/{instance.dossier_id}/{secrets.token_hex(16)}"


class Document(TimeStampedModel):
    class Verdict(models.TextChoices):
        VALID = "valid", _("Hợp lệ")
        INVALID = "invalid", _("Không hợp lệ")
        INDETERMINATE = "indeterminate", _("Chưa xác định được")

    class ReuseSource(models.TextChoices):
        NONE = "", _("Không")
        DOSSIER = "dossier", _("Thành phần của hồ sơ khác")
        RESULT = "result", _("Kết quả đã cấp")
        NATIONAL_DATABASE = "national_database", _("Cơ sở dữ liệu quốc gia")

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE, related_name="documents",
    )
    component = models.ForeignKey(
        DocumentComponent, verbose_name=_("thành phần hồ sơ"), on_delete=models.PROTECT,
        related_name="documents",
    )
    version = models.PositiveSmallIntegerField(_("phiên bản"), default=1)
    file = models.FileField(_("tệp"), upload_to=_document_path, max_length=255)
    original_name = models.CharField(_("tên tệp gốc"), max_length=255)
    sha256 = models.CharField(_("mã băm SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("dung lượng (byte)"))
    content_type = models.CharField(_("kiểu nội dung"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người tải lên"), on_delete=models.PROTECT,
        related_name="+",
    )
    is_current = models.BooleanField(_("bản hiện hành"), default=True)
    # Blank verdict with a check time: no signature found. No check time: not verified yet.
    signature_verdict = models.CharField(
        _("kết quả xác thực chữ ký số"), max_length=16, choices=Verdict.choices, blank=True,
    )
    signature_report = models.JSONField(_("báo cáo xác thực chữ ký số"), null=True, blank=True)
    signature_checked_at = models.DateTimeField(_("xác thực chữ ký số lúc"), null=True, blank=True)
    # An officer's decision on an `indeterminate` signature, and who took it.
    signature_decision = models.CharField(
        _("quyết định về chữ ký số"), max_length=16, blank=True,
        choices=[("accepted", _("Chấp nhận")), ("rejected", _("Không chấp nhận"))],
    )
    signature_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người quyết định"), null=True, blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    signature_decided_at = models.DateTimeField(_("quyết định lúc"), null=True, blank=True)
    signature_decision_note = models.TextField(_("ghi chú quyết định"), blank=True)
    digitized = models.BooleanField(_("số hóa tại bộ phận một cửa"), default=False)
    reuse_source = models.CharField(
        _("nguồn tái sử dụng"), max_length=32, choices=ReuseSource.choices, blank=True,
        default=ReuseSource.NONE,
    )

    class Meta:
        verbose_name = _("giấy tờ")
        verbose_name_plural = _("giấy tờ")
        ordering = ["dossier", "component", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "component", "version"], name="document_version_unique"
            ),
            models.UniqueConstraint(
                fields=["dossier", "component"], condition=Q(is_current=True),
                name="one_current_document_per_component",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="document_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} (v{self.version})"

    @property
    def signature_problem(self) -> str:
        """Why this document cannot stand as a signed one ("" when it can)."""
        if self.signature_checked_at is None:
            return "pending"
        if not self.signature_verdict:
            return "unsigned"
        if self.signature_verdict == self.Verdict.INVALID:
            return "invalid"
        if self.signature_decision == "rejected":
            return "rejected"
        return ""  # valid, or indeterminate and left to (or accepted by) an officer

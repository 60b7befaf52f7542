"""Who opened which dossier's personal data (Decree 13/2023/NĐ-CP): an append-only record."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .documents import Document
from .dossier import Dossier


def _refuse():
    raise ValidationError(
        gettext("Nhật ký truy cập dữ liệu cá nhân chỉ được ghi thêm, không được sửa hoặc xóa.")
    )


class PersonalDataAccessQuerySet(models.QuerySet):
    """Bulk edits and deletes are refused as well as row saves."""

    def update(self, **kwargs):
        _refuse()

    def delete(self):
        _refuse()


class PersonalDataAccess(models.Model):
    """One officer's read of a dossier or one of its files."""

    class What(models.TextChoices):
        DOSSIER = "dossier", _("Hồ sơ")
        DOCUMENT = "document", _("Giấy tờ")
        RESULT = "result", _("Kết quả giải quyết")
        RECEIPT_SLIP = "receipt_slip", _("Giấy tiếp nhận và hẹn trả kết quả")
        SLIP = "slip", _("Phiếu theo Thông tư 01/2018/TT-VPCP")
        HISTORY = "history", _("Nhật ký xử lý")

    at = models.DateTimeField(_("thời điểm"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người truy cập"), on_delete=models.PROTECT,
        related_name="+",
    )
    user_label = models.CharField(_("tên người truy cập"), max_length=255)
    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.PROTECT, related_name="+",
    )
    what = models.CharField(_("nội dung truy cập"), max_length=16, choices=What.choices)
    document = models.ForeignKey(
        Document, verbose_name=_("giấy tờ"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    route = models.CharField(_("đường dẫn"), max_length=128)
    path = models.CharField(_("địa chỉ yêu cầu"), max_length=512)
    ip = models.GenericIPAddressField(_("địa chỉ IP"), null=True, blank=True)

    objects = PersonalDataAccessQuerySet.as_manager()

    class Meta:
        verbose_name = _("truy cập dữ liệu cá nhân")
        verbose_name_plural = _("nhật ký truy cập dữ liệu cá nhân")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dossier", "at"], name="pd_access_dossier_idx")]

    def __str__(self) -> str:
        return f"{self.user_label} → {self.dossier_id} ({self.what})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            _refuse()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse()

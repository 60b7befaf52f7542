"""What a dossier ends with: the result, the apology slip, the applicant's rating."""


from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.models import TimeStampedModel

from .dossier import Dossier


class ApologySlip(TimeStampedModel):
    """Form 04 of Circular 01/2018: apology and new appointment, at most once per dossier.

    The original `due_at` stays and the outcome still counts against it; the new appointment
    is what the applicant is told.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Dự thảo")
        APPROVED = "approved", _("Đã duyệt, đã gửi")

    dossier = models.OneToOneField(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.PROTECT, related_name="apology",
    )
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.DRAFT,
    )
    original_due_at = models.DateTimeField(_("hạn ban đầu"))
    new_appointment_at = models.DateTimeField(_("ngày hẹn lại"))
    reason = models.TextField(_("lý do chậm"))
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người soạn"), on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người duyệt"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    approved_at = models.DateTimeField(_("duyệt lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("phiếu xin lỗi và hẹn lại")
        verbose_name_plural = _("phiếu xin lỗi và hẹn lại")
        constraints = [
            models.CheckConstraint(
                condition=Q(new_appointment_at__gt=models.F("original_due_at")),
                name="apology_new_appointment_after_due",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False),
                name="apology_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier} → {self.new_appointment_at:%d/%m/%Y}"


class Result(TimeStampedModel):
    class Kind(models.TextChoices):
        LICENCE = "licence", _("Giấy phép")
        DECISION = "decision", _("Quyết định")
        REFUSAL = "refusal", _("Văn bản từ chối")

    dossier = models.OneToOneField(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.PROTECT, related_name="result",
    )
    kind = models.CharField(_("loại kết quả"), max_length=16, choices=Kind.choices)
    number = models.CharField(_("số văn bản"), max_length=64, blank=True)
    file = models.FileField(_("tệp"), upload_to="results/", null=True, blank=True)
    sha256 = models.CharField(_("mã băm SHA-256"), max_length=64, blank=True)
    electronic = models.BooleanField(_("kết quả điện tử"), default=True)
    signed = models.BooleanField(_("đã ký số"), default=False)
    issued_at = models.DateTimeField(_("ngày ban hành"))

    class Meta:
        verbose_name = _("kết quả giải quyết")
        verbose_name_plural = _("kết quả giải quyết")


class Rating(TimeStampedModel):
    class Channel(models.TextChoices):
        ONLINE = "online", _("Trực tuyến")
        DESK = "desk", _("Tại Bộ phận Một cửa")

    dossier = models.OneToOneField(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE, related_name="rating",
    )
    # Online: the applicant rated on the portal. Desk: reception recorded the applicant's
    # rating when handing over the result (`recorded_by` is the officer).
    channel = models.CharField(
        _("hình thức đánh giá"), max_length=16, choices=Channel.choices, default=Channel.ONLINE,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cán bộ ghi nhận"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    score = models.PositiveSmallIntegerField(
        _("điểm"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("ý kiến"), blank=True)

    class Meta:
        verbose_name = _("đánh giá")
        verbose_name_plural = _("đánh giá")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_range"
            ),
        ]

    @property
    def satisfied(self) -> bool:
        return self.score >= 3

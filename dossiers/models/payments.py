"""Fees and charges paid for a dossier."""


from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.models import ConstraintsCheckedAtOnce, TimeStampedModel

# The payments a provider has opened a transaction for: the condition of the unique index the
# callbacks and status queries find a payment by (`payment_provider_reference_unique`).
REFERENCED = ~Q(provider_reference="")


class Payment(ConstraintsCheckedAtOnce, TimeStampedModel):
    class Kind(models.TextChoices):
        FEE = "fee", _("Phí")
        CHARGE = "charge", _("Lệ phí")

    class Mode(models.TextChoices):
        BEFORE = "before", _("Thu trước")
        AFTER = "after", _("Thu sau")
        EXEMPT = "exempt", _("Miễn")

    class Channel(models.TextChoices):
        CASH = "cash", _("Tiền mặt")
        TRANSFER = "transfer", _("Chuyển khoản")
        ONLINE = "online", _("Thanh toán trực tuyến")

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ thanh toán")
        PAID = "paid", _("Đã thanh toán")
        FAILED = "failed", _("Thất bại")
        OVERPAID = "overpaid", _("Nộp thừa, chờ hoàn trả")
        REFUNDED = "refunded", _("Đã hoàn")

    class RefundReason(models.TextChoices):
        FEE_ALREADY_SETTLED = "fee_already_settled", _(
            "Hồ sơ đã nộp phí, lệ phí bằng khoản thanh toán khác"
        )

    # Where the provider's word may still move a payment. Paid, overpaid and refunded are final
    # to it: the money is with us or was returned, and no later callback undoes that.
    AWAITING_STATUSES = (Status.PENDING, Status.FAILED)

    # Named by string: the dossier reads its payments through the reverse relation, so neither
    # model module imports the other.
    dossier = models.ForeignKey(
        "dossiers.Dossier", verbose_name=_("hồ sơ"), on_delete=models.PROTECT,
        related_name="payments",
    )
    amount = models.PositiveBigIntegerField(_("số tiền (đồng)"))
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices, default=Kind.FEE)
    mode = models.CharField(_("hình thức thu"), max_length=16, choices=Mode.choices)
    channel = models.CharField(_("kênh thanh toán"), max_length=16, choices=Channel.choices)
    provider = models.CharField(_("đơn vị thanh toán"), max_length=32, blank=True)
    provider_reference = models.CharField(
        _("mã giao dịch của đơn vị thanh toán"), max_length=128, blank=True,
    )
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING,
    )
    paid_at = models.DateTimeField(_("thanh toán lúc"), null=True, blank=True)
    confirmed_by = models.CharField(_("xác nhận bởi"), max_length=32, blank=True)
    # What the provider was billed (MaHoSo): the dossier code, or a draft's reference when the
    # fee is due before submission; callbacks must name the same.
    bill_code = models.CharField(_("mã thanh toán (mã hồ sơ)"), max_length=64, blank=True)
    # The idempotency key of create_transaction: a retry after a lost answer opens nothing new.
    request_key = models.CharField(_("khóa chống tạo trùng"), max_length=64, blank=True)
    redirect_url = models.CharField(_("đường dẫn thanh toán"), max_length=1000, blank=True)
    bank_transaction_no = models.CharField(_("số giao dịch ngân hàng"), max_length=64, blank=True)
    # When reconciliation last asked the provider about this payment.
    checked_at = models.DateTimeField(_("đối soát lúc"), null=True, blank=True)
    # The one payment that settled the dossier's fee; it stays so when refunded, so the fee is
    # settled once per dossier and any money after it is an overpayment.
    settles_fee = models.BooleanField(_("thanh toán phí, lệ phí của hồ sơ"), default=False)
    refund_reason = models.CharField(
        _("lý do hoàn trả"), max_length=32, choices=RefundReason.choices, blank=True
    )
    # When the daily summary counted this fee as paid online; a dossier counts there once.
    online_counted_at = models.DateTimeField(
        _("đã tính chỉ tiêu trực tuyến lúc"), null=True, blank=True,
    )

    class Meta:
        verbose_name = _("thanh toán")
        verbose_name_plural = _("thanh toán")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="paid_has_paid_at"
            ),
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(settles_fee=True),
                name="payment_one_settling_the_fee_per_dossier",
            ),
            # Paid is the fee itself; overpaid is money beyond it, received and owed back.
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(settles_fee=True),
                name="payment_paid_settles_the_fee",
            ),
            models.CheckConstraint(
                condition=Q(settles_fee=False) | Q(status__in=["paid", "refunded"]),
                name="payment_settling_is_paid_or_refunded",
            ),
            models.CheckConstraint(
                condition=~Q(status="overpaid") | (Q(paid_at__isnull=False)
                                                   & ~Q(refund_reason="")),
                name="payment_overpaid_has_paid_at_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(online_counted_at__isnull=True)
                | Q(settles_fee=True, channel="online"),
                name="payment_counted_online_is_the_online_fee",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], condition=REFERENCED,
                name="payment_provider_reference_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="payment_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_reference or '-'} ({self.status})"

    @property
    def holds_fee(self) -> bool:
        """This payment is the dossier's fee and the money was not returned."""
        return self.status == self.Status.PAID

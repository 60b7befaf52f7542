"""Requests and messages crossing the boundary: idempotency records, the outbox, inbound calls."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from integrations.models import RemoteSystem

from .dossier import Dossier


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for repeats."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người dùng"), on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("khóa chống gửi trùng"), max_length=255)
    scope = models.CharField(_("phạm vi"), max_length=255)
    request_hash = models.CharField(_("mã băm yêu cầu"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("mã trạng thái HTTP"))
    response_body = models.JSONField(_("nội dung trả lời"))
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("yêu cầu chống gửi trùng")
        verbose_name_plural = _("yêu cầu chống gửi trùng")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class RowValuesJSONField(models.JSONField):
    """A JSON field that a multi-row INSERT writes row by row (VALUES (...), (...)) on
    PostgreSQL, not as one array per column (UNNEST): a few large documents (the outbox's
    payloads) are cheaper to send as they are than escaped into an array literal. The column
    and its migrations are a JSONField's."""

    def get_placeholder(self, value, compiler, connection):
        return "%s"

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


class OutboundMessage(models.Model):
    """The outbox: one row per message to an external system, written with the change that
    causes it and sent later by the relay, in order per dossier and system."""

    class Kind(models.TextChoices):
        PUSH_DOSSIER = "push_dossier", _("Đồng bộ hồ sơ")
        PUSH_PROGRESS = "push_progress", _("Cập nhật tiến độ")

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENDING = "sending", _("Đang gửi")
        SENT = "sent", _("Đã gửi")
        FAILED = "failed", _("Lỗi, sẽ gửi lại")
        DEAD = "dead", _("Ngừng gửi")
        HELD = "held", _("Tạm giữ, chờ cấu hình")

    class Attention(models.TextChoices):
        """What an administrator must fix before the message can go (blank: nothing)."""

        CREDENTIALS = "credentials", _("Cổng từ chối thông tin đăng nhập")
        UNREADABLE = "unreadable", _("Cổng trả lời không đọc được")
        CONFIGURATION = "configuration", _("Thiếu cấu hình kết nối hoặc ánh xạ")
        PROCEDURE_CODE = "procedure_code", _("Thủ tục chưa có mã TTHC quốc gia")

    # Unsent messages hold back the later ones of their dossier and system.
    UNSENT = (Status.PENDING, Status.SENDING, Status.FAILED, Status.DEAD, Status.HELD)

    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="outbox", verbose_name=_("hồ sơ")
    )
    system = models.CharField(_("hệ thống"), max_length=32, choices=RemoteSystem.choices)
    kind = models.CharField(_("loại"), max_length=32, choices=Kind.choices)
    idempotency_key = models.CharField(_("khóa chống gửi trùng"), max_length=100, unique=True)
    payload = RowValuesJSONField(_("nội dung"))
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("số lần gửi"), default=0)
    next_attempt_at = models.DateTimeField(_("gửi lần tới"))
    lease_until = models.DateTimeField(_("đang gửi đến"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)
    attention = models.CharField(
        _("cần quản trị viên xử lý"), max_length=32, choices=Attention.choices, blank=True
    )
    last_attempt_at = models.DateTimeField(_("lần gửi gần nhất"), null=True, blank=True)
    external_reference = models.CharField(_("mã tiếp nhận của cổng"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("tạo lúc"))
    sent_at = models.DateTimeField(_("đã gửi lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("thông điệp gửi đi")
        verbose_name_plural = _("thông điệp gửi đi")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["dossier", "system", "id"], name="outbox_order_idx"),
            # The latest attempt to each system: whether it is healthy (the admin's alerts).
            models.Index(fields=["system", "last_attempt_at"], name="outbox_attempt_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_system_display()} ({self.get_status_display()})"


class InboundCall(models.Model):
    """The first answer to an authenticated inbound call, replayed for a repeat of it."""

    source = models.CharField(_("nguồn"), max_length=32)
    key = models.CharField(_("khóa chống gọi trùng"), max_length=128)
    request_hash = models.CharField(_("mã băm yêu cầu"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("mã trạng thái HTTP"))
    response_body = models.JSONField(_("nội dung trả lời"))
    created_at = models.DateTimeField(_("nhận lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("lượt gọi từ cổng")
        verbose_name_plural = _("lượt gọi từ cổng")
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="inbound_call_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"

"""The domain: catalog, dossiers and their workflow, documents, audit, payments, indicators."""

import secrets
from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

import jsonschema
from django_fsm import FSMField, FSMModelMixin, transition

from portal.models import TimeStampedModel
from portal.roles import Role

from .querysets import DossierQuerySet, DossierTransitionQuerySet


class Agency(TimeStampedModel):
    code = models.SlugField(_("mã"), max_length=32, unique=True)
    name = models.CharField(_("tên cơ quan"), max_length=255)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    morning_start = models.TimeField(_("sáng từ"), default=time(7, 30))
    morning_end = models.TimeField(_("sáng đến"), default=time(11, 30))
    afternoon_start = models.TimeField(_("chiều từ"), default=time(13, 0))
    afternoon_end = models.TimeField(_("chiều đến"), default=time(17, 0))
    dossier_code_pattern = models.CharField(
        _("mẫu mã hồ sơ"), max_length=64, default="{agency}-{yymmdd}-{seq:04}",
        help_text=_("Trường: {agency}, {yymmdd}, {yyyy}, {mm}, {dd}, {seq}."),
    )

    class Meta:
        verbose_name = _("cơ quan")
        verbose_name_plural = _("cơ quan")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(morning_start__lt=models.F("morning_end"))
                & Q(morning_end__lte=models.F("afternoon_start"))
                & Q(afternoon_start__lt=models.F("afternoon_end")),
                name="agency_sessions_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.format_code(day=datetime(2025, 1, 1).date(), seq=1)  # noqa: DTZ001
        except (KeyError, ValueError, IndexError) as exc:
            raise ValidationError({"dossier_code_pattern": _("Mẫu mã không hợp lệ.")}) from exc
        if "{seq" not in self.dossier_code_pattern:
            raise ValidationError({"dossier_code_pattern": _("Mẫu mã phải có {seq}.")})

    @property
    def sessions(self) -> tuple:
        from . import sla

        return (
            sla.Session(self.morning_start, self.morning_end),
            sla.Session(self.afternoon_start, self.afternoon_end),
        )

    def format_code(self, *, day, seq: int) -> str:
        return self.dossier_code_pattern.format(
            agency=self.code.upper(), yymmdd=day.strftime("%y%m%d"), yyyy=day.strftime("%Y"),
            mm=day.strftime("%m"), dd=day.strftime("%d"), seq=seq,
        )


class HolidayOverride(TimeStampedModel):
    """An administrator's correction of the official calendar; it wins over the package."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Ngày nghỉ thêm")
        WORKING_DAY = "working_day", _("Ngày làm việc thêm (làm bù)")

    date = models.DateField(_("ngày"), unique=True)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("lý do"), max_length=255)

    class Meta:
        verbose_name = _("điều chỉnh lịch làm việc")
        verbose_name_plural = _("điều chỉnh lịch làm việc")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.get_kind_display()}"


class Procedure(TimeStampedModel):
    class OnlineLevel(models.TextChoices):
        FULL = "full", _("Toàn trình")
        PARTIAL = "partial", _("Một phần")

    class DurationKind(models.TextChoices):
        WORKING_DAYS = "working_days", _("Ngày làm việc")
        CALENDAR_DAYS = "calendar_days", _("Ngày")

    class FeeDue(models.TextChoices):
        SUBMISSION = "submission", _("Nộp khi nộp hồ sơ (thu trước)")
        RESULT = "result", _("Nộp trước khi nhận kết quả (thu sau)")
        EXEMPT = "exempt", _("Miễn phí, lệ phí")

    class SupplementClock(models.TextChoices):
        PAUSE = "pause", _("Tạm dừng, cộng thời gian khi bổ sung")
        RESTART = "restart", _("Tính lại từ đầu khi bổ sung")

    national_code = models.CharField(_("mã TTHC quốc gia"), max_length=32, blank=True)
    name = models.CharField(_("tên thủ tục"), max_length=500)
    name_en = models.CharField(_("tên tiếng Anh"), max_length=500, blank=True)
    sector = models.CharField(_("lĩnh vực"), max_length=255)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="procedures")
    online_level = models.CharField(
        _("mức độ trực tuyến"), max_length=16, choices=OnlineLevel.choices
    )
    processing_days = models.DecimalField(
        _("thời hạn giải quyết"), max_digits=6, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    duration_kind = models.CharField(
        max_length=16, choices=DurationKind.choices, default=DurationKind.WORKING_DAYS
    )
    fee_vnd = models.PositiveBigIntegerField(_("phí, lệ phí (đồng)"), default=0)
    fee_due = models.CharField(
        _("thời điểm nộp phí"), max_length=16, choices=FeeDue.choices, default=FeeDue.EXEMPT
    )
    supplement_clock = models.CharField(
        _("khi yêu cầu bổ sung"), max_length=16, choices=SupplementClock.choices,
        default=SupplementClock.PAUSE,
    )
    form_schema = models.JSONField(_("biểu mẫu (JSON Schema)"), default=dict, blank=True)
    legal_basis = models.JSONField(_("căn cứ pháp lý"), default=list, blank=True)
    source = models.TextField(_("nguồn"), blank=True)
    notes = models.TextField(_("ghi chú"), blank=True)
    demo_assumptions = models.JSONField(
        _("giá trị giả định cho bản demo"), default=list, blank=True,
        help_text=_("Các trường không xác nhận được từ nguồn, được điền để chạy thử."),
    )
    is_active = models.BooleanField(_("đang áp dụng"), default=True)

    class Meta:
        verbose_name = _("thủ tục hành chính")
        verbose_name_plural = _("thủ tục hành chính")
        ordering = ["sector", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["national_code"], condition=~Q(national_code=""),
                name="procedure_national_code_unique",
            ),
            models.CheckConstraint(
                condition=Q(processing_days__gt=0), name="procedure_processing_days_positive"
            ),
            models.CheckConstraint(
                condition=(Q(fee_vnd=0) & Q(fee_due="exempt")) | (Q(fee_vnd__gt=0) & ~Q(fee_due="exempt")),
                name="procedure_fee_due_matches_fee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.national_code or '—'} {self.name}"

    def clean(self) -> None:
        try:
            jsonschema.Draft202012Validator.check_schema(self.form_schema or {})
        except jsonschema.SchemaError as exc:
            raise ValidationError({"form_schema": exc.message}) from exc
        if (self.fee_vnd == 0) != (self.fee_due == self.FeeDue.EXEMPT):
            raise ValidationError({"fee_due": _("Thủ tục miễn phí khi và chỉ khi phí bằng 0.")})

    def form_errors(self, data) -> list[dict]:
        """Every way `data` breaks the form schema, as {"field", "message"} pairs."""
        validator = jsonschema.Draft202012Validator(
            self.form_schema or {}, format_checker=jsonschema.FormatChecker()
        )
        return [
            {"field": "/".join(str(p) for p in err.absolute_path), "message": err.message}
            for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        ]

    @property
    def fee_due_at_submission(self) -> bool:
        return self.fee_vnd > 0 and self.fee_due == self.FeeDue.SUBMISSION


class ProcessStep(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("thứ tự"))
    code = models.SlugField(_("mã bước"), max_length=32)
    name = models.CharField(_("tên bước"), max_length=255)
    role = models.CharField(
        _("vai trò"), max_length=16,
        choices=[(r, r) for r in (Role.RECEPTION, Role.SPECIALIST, Role.LEADER)],
    )
    budget_days = models.DecimalField(_("thời gian (ngày)"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("bước xử lý")
        verbose_name_plural = _("bước xử lý")
        ordering = ["procedure", "order"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code"], name="step_code_unique"),
            models.UniqueConstraint(fields=["procedure", "order"], name="step_order_unique"),
            models.CheckConstraint(condition=Q(budget_days__gt=0), name="step_budget_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class DocumentComponent(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="components")
    order = models.PositiveSmallIntegerField(_("thứ tự"), default=0)
    code = models.SlugField(_("mã thành phần"), max_length=64)
    name = models.CharField(_("tên thành phần hồ sơ"), max_length=500)
    mandatory = models.BooleanField(_("bắt buộc"), default=True)
    must_be_signed = models.BooleanField(_("phải ký số"), default=False)
    accepted_types = models.JSONField(
        _("định dạng chấp nhận"), default=list,
        help_text=_('Kiểu MIME, ví dụ ["application/pdf", "image/jpeg"].'),
    )

    class Meta:
        verbose_name = _("thành phần hồ sơ")
        verbose_name_plural = _("thành phần hồ sơ")
        ordering = ["procedure", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code"], name="component_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DailyCounter(models.Model):
    """The per-agency daily sequence behind dossier codes; incremented with one upsert."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE)
    day = models.DateField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "day"], name="daily_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.day}: {self.value}"


def _new_lookup_secret() -> str:
    return secrets.token_urlsafe(9)


def _is_applicant(instance: "Dossier", user) -> bool:
    return user.pk == instance.applicant_id and user.has_role(Role.APPLICANT)


def _role(*roles: str):
    def check(instance: "Dossier", user) -> bool:
        return user.has_role(*roles) and user.agency_code == instance.handling_agency.code

    check.__name__ = f"has_role_{'_'.join(roles)}"
    return check


def _no_submission_problems(instance: "Dossier") -> bool:
    return not instance.submission_problems


def _result_fee_settled(instance: "Dossier") -> bool:
    return not instance.result_fee_outstanding


class Dossier(FSMModelMixin, TimeStampedModel):
    class State(models.TextChoices):
        DRAFT = "draft", _("Đang soạn")
        SUBMITTED = "submitted", _("Chờ tiếp nhận")
        NEEDS_COMPLETION = "needs_completion", _("Yêu cầu hoàn thiện hồ sơ")
        REJECTED = "rejected", _("Từ chối tiếp nhận")
        PROCESSING = "processing", _("Đang xử lý")
        AWAITING_SUPPLEMENT = "awaiting_supplement", _("Yêu cầu bổ sung hồ sơ")
        SUSPENDED = "suspended", _("Tạm dừng")
        PENDING_APPROVAL = "pending_approval", _("Chờ phê duyệt")
        APPROVED = "approved", _("Đã phê duyệt")
        REFUSED = "refused", _("Từ chối giải quyết")
        RESULT_READY = "result_ready", _("Chờ trả kết quả")
        RETURNED = "returned", _("Đã trả kết quả")
        WITHDRAWN = "withdrawn", _("Rút hồ sơ")

    OPEN_STATES = (
        State.DRAFT, State.SUBMITTED, State.NEEDS_COMPLETION, State.PROCESSING,
        State.AWAITING_SUPPLEMENT, State.SUSPENDED, State.PENDING_APPROVAL, State.APPROVED,
    )
    # Received (the clock runs or is paused) and not completed.
    IN_PROGRESS_STATES = (
        State.PROCESSING, State.AWAITING_SUPPLEMENT, State.SUSPENDED,
        State.PENDING_APPROVAL, State.APPROVED,
    )
    WITHDRAWABLE_STATES = list(OPEN_STATES[1:])  # every open state after submission

    class Channel(models.TextChoices):
        ONLINE = "online", _("Trực tuyến")
        COUNTER = "counter", _("Trực tiếp")
        POST = "post", _("Bưu chính công ích")
        NATIONAL_PORTAL = "national_portal", _("Cổng DVC quốc gia")
        PROVINCIAL_PORTAL = "provincial_portal", _("Cổng DVC tỉnh")

    class Outcome(models.TextChoices):
        EARLY = "early", _("Trước hạn")
        ON_TIME = "on_time", _("Đúng hạn")
        LATE = "late", _("Quá hạn")

    code = models.CharField(_("mã hồ sơ"), max_length=64, unique=True, null=True, blank=True)
    lookup_secret = models.CharField(max_length=32, default=_new_lookup_secret, editable=False)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="dossiers")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dossiers"
    )
    on_behalf_name = models.CharField(_("người được ủy quyền"), max_length=255, blank=True)
    channel = models.CharField(
        _("kênh nộp"), max_length=32, choices=Channel.choices, default=Channel.ONLINE
    )
    reception_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="received_dossiers",
        verbose_name=_("nơi tiếp nhận"),
    )
    handling_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="handled_dossiers",
        verbose_name=_("cơ quan giải quyết"),
    )
    form_data = models.JSONField(_("dữ liệu biểu mẫu"), default=dict, blank=True)
    state = FSMField(
        _("trạng thái"), max_length=32, choices=State.choices, default=State.DRAFT,
        protected=True, db_index=True,
    )
    version = models.PositiveIntegerField(default=1)

    submitted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(_("ngày tiếp nhận"), null=True, blank=True)
    due_at = models.DateTimeField(_("ngày hẹn trả"), null=True, blank=True, db_index=True)
    due_soon_at = models.DateTimeField(null=True, blank=True)
    new_appointment_at = models.DateTimeField(_("ngày hẹn lại"), null=True, blank=True)
    completed_at = models.DateTimeField(_("ngày có kết quả"), null=True, blank=True)
    returned_at = models.DateTimeField(_("ngày trả kết quả"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        _("kết quả đúng hạn"), max_length=16, choices=Outcome.choices, blank=True
    )
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    current_step = models.ForeignKey(
        ProcessStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step_started_at = models.DateTimeField(null=True, blank=True)
    step_due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="assigned_dossiers",
    )
    reason = models.TextField(_("lý do gần nhất"), blank=True)
    # Hash of the newest transition log row, so the chain can be extended without a read.
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    objects = DossierQuerySet.as_manager()

    class Meta:
        verbose_name = _("hồ sơ")
        verbose_name_plural = _("hồ sơ")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["handling_agency", "state", "due_at"], name="dossier_queue_idx"),
            models.Index(fields=["assignee", "state"], name="dossier_assignee_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(received_at__isnull=True) | Q(due_at__isnull=False),
                name="dossier_received_has_due",
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | ~Q(outcome="")
                | Q(state="withdrawn"),
                name="dossier_completed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(code__isnull=False),
                name="dossier_code_after_draft",
            ),
        ]

    def __str__(self) -> str:
        return self.code or f"#{self.pk} ({self.get_state_display()})"

    # Conditions read the facts the service gathered (`submission_problems`), so they stay
    # pure predicates and the checks cost no extra queries.
    @cached_property
    def submission_problems(self) -> dict:
        problems: dict = {}
        errors = self.procedure.form_errors(self.form_data)
        if errors:
            problems["form"] = errors
        present = {doc.component_id for doc in self.documents.all()}
        missing = [
            c.code for c in self.procedure.components.all() if c.mandatory and c.pk not in present
        ]
        if missing:
            problems["missing_components"] = missing
        unsigned = [
            doc.component.code for doc in self.documents.all()
            if doc.component.must_be_signed and doc.signature_verdict == Document.Verdict.INVALID
        ]
        if unsigned:
            problems["invalid_signatures"] = unsigned
        if self.procedure.fee_due_at_submission and not self.fee_paid:
            problems["payment_required"] = self.procedure.fee_vnd
        return problems

    @cached_property
    def fee_paid(self) -> bool:
        return any(p.status == Payment.Status.PAID for p in self.payments.all())

    @property
    def result_fee_outstanding(self) -> bool:
        p = self.procedure
        return p.fee_vnd > 0 and p.fee_due == Procedure.FeeDue.RESULT and not self.fee_paid

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    # --- transitions: they change this row's fields only; the service does the rest ---

    @transition(
        field=state, source=State.DRAFT, target=State.SUBMITTED,
        conditions=[_no_submission_problems], permission=_is_applicant,
    )
    def submit(self, *, at: datetime, code: str) -> None:
        self.submitted_at = at
        self.code = code

    @transition(
        field=state, source=State.NEEDS_COMPLETION, target=State.SUBMITTED,
        conditions=[_no_submission_problems], permission=_is_applicant,
    )
    def resubmit(self, *, at: datetime) -> None:
        self.submitted_at = at

    @transition(
        field=state, source=State.SUBMITTED, target=State.NEEDS_COMPLETION,
        permission=_role(Role.RECEPTION),
    )
    def return_for_completion(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.SUBMITTED, target=State.REJECTED,
        permission=_role(Role.RECEPTION),
    )
    def refuse_at_reception(self, *, at: datetime) -> None:
        self.completed_at = None

    @transition(
        field=state, source=State.SUBMITTED, target=State.PROCESSING,
        permission=_role(Role.RECEPTION),
    )
    def accept(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.received_at = at
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=State.PROCESSING, target=State.AWAITING_SUPPLEMENT,
        permission=_role(Role.SPECIALIST),
    )
    def request_supplement(self, *, at: datetime) -> None:
        self.paused_at = at

    @transition(
        field=state, source=State.AWAITING_SUPPLEMENT, target=State.PROCESSING,
        permission=_is_applicant,
    )
    def supply(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.paused_at = None
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=State.PROCESSING, target=State.SUSPENDED,
        permission=_role(Role.SPECIALIST),
    )
    def suspend(self, *, at: datetime) -> None:
        self.paused_at = at

    @transition(
        field=state, source=State.SUSPENDED, target=State.PROCESSING,
        permission=_role(Role.SPECIALIST),
    )
    def resume(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.paused_at = None
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=State.PROCESSING, target=State.PENDING_APPROVAL,
        permission=_role(Role.SPECIALIST),
    )
    def propose(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.PROCESSING,
        permission=_role(Role.LEADER),
    )
    def send_back(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.APPROVED,
        permission=_role(Role.LEADER),
    )
    def approve(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.REFUSED,
        permission=_role(Role.LEADER),
    )
    def refuse(self, *, at: datetime, outcome: str) -> None:
        self.completed_at = at
        self.outcome = outcome

    @transition(
        field=state, source=State.APPROVED, target=State.RESULT_READY,
        permission=_role(Role.LEADER),
    )
    def issue_result(self, *, at: datetime, outcome: str) -> None:
        self.completed_at = at
        self.outcome = outcome

    @transition(
        field=state, source=State.RESULT_READY, target=State.RETURNED,
        conditions=[_result_fee_settled], permission=_role(Role.RECEPTION),
    )
    def return_result(self, *, at: datetime) -> None:
        self.returned_at = at

    @transition(
        field=state, source=WITHDRAWABLE_STATES, target=State.WITHDRAWN,
        permission=_is_applicant,
    )
    def withdraw(self, *, at: datetime) -> None:
        self.withdrawn_at = at
        self.paused_at = None


class ClockInterval(models.Model):
    """A span during which the SLA clock stood still (supplement owed, suspension)."""

    class Kind(models.TextChoices):
        SUPPLEMENT = "supplement", _("Chờ bổ sung")
        SUSPENSION = "suspension", _("Tạm dừng")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="pauses")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    policy = models.CharField(max_length=16, choices=Procedure.SupplementClock.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    working_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["dossier", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(ended_at__isnull=True),
                name="one_open_pause_per_dossier",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="pause_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%d/%m/%Y %H:%M}"


class DossierTransition(models.Model):
    """Append-only history, one row per state change, chained by hash per dossier."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="transitions")
    name = models.CharField(max_length=32)
    from_state = models.CharField(max_length=32)
    to_state = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    step = models.CharField(max_length=32, blank=True)
    clock_effect = models.CharField(max_length=16, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = DossierTransitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("nhật ký xử lý")
        verbose_name_plural = _("nhật ký xử lý")
        ordering = ["dossier", "id"]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError(_("Nhật ký xử lý chỉ được ghi thêm, không được sửa."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Nhật ký xử lý không được xóa."))


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

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="documents")
    component = models.ForeignKey(
        DocumentComponent, on_delete=models.PROTECT, related_name="documents"
    )
    version = models.PositiveSmallIntegerField(default=1)
    file = models.FileField(upload_to=_document_path, max_length=255)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    is_current = models.BooleanField(default=True)
    signature_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    signature_report = models.JSONField(null=True, blank=True)
    digitized = models.BooleanField(_("số hóa tại bộ phận một cửa"), default=False)
    reuse_source = models.CharField(
        max_length=32, choices=ReuseSource.choices, blank=True, default=ReuseSource.NONE
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


class Payment(TimeStampedModel):
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
        REFUNDED = "refunded", _("Đã hoàn")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FEE)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    provider = models.CharField(max_length=32, blank=True)
    provider_reference = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    paid_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("thanh toán")
        verbose_name_plural = _("thanh toán")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="paid_has_paid_at"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], condition=~Q(provider_reference=""),
                name="payment_provider_reference_unique",
            ),
        ]


class ApologySlip(TimeStampedModel):
    """Form 04 of Circular 01/2018: apology and new appointment, at most once per dossier.

    The original `due_at` stays and the outcome still counts against it; the new appointment
    is what the applicant is told.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Dự thảo")
        APPROVED = "approved", _("Đã duyệt, đã gửi")

    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="apology")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    original_due_at = models.DateTimeField(_("hạn ban đầu"))
    new_appointment_at = models.DateTimeField(_("ngày hẹn lại"))
    reason = models.TextField(_("lý do chậm"))
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

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

    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="result")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.CharField(_("số văn bản"), max_length=64, blank=True)
    file = models.FileField(upload_to="results/", null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    electronic = models.BooleanField(_("kết quả điện tử"), default=True)
    signed = models.BooleanField(_("đã ký số"), default=False)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("kết quả giải quyết")
        verbose_name_plural = _("kết quả giải quyết")


class Rating(TimeStampedModel):
    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)

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


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for repeats."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


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

    UNSENT = (Status.PENDING, Status.SENDING, Status.FAILED, Status.DEAD)

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="outbox")
    system = models.CharField(_("hệ thống"), max_length=32)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=100, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    external_reference = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("thông điệp gửi đi")
        verbose_name_plural = _("thông điệp gửi đi")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["dossier", "system", "id"], name="outbox_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.kind} #{self.dossier_id} ({self.status})"


class InboundCall(models.Model):
    """The first answer to an authenticated inbound call, replayed for a repeat of it."""

    source = models.CharField(max_length=32)
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="inbound_call_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"

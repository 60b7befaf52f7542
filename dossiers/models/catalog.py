"""The procedure catalog: agencies and their hours, holidays, procedures, steps, components."""

from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

import jsonschema

from portal.models import TimeStampedModel
from portal.roles import Role

# The form's field order, kept as a list beside "properties": PostgreSQL's jsonb stores object
# keys in its own order (shortest first), so the author's order cannot live in the object alone.
FORM_ORDER_KEY = "x-order"


def form_schema_ordered(schema: dict | None) -> dict:
    """`schema` with its field order recorded: an order already kept is respected for the
    fields still present, and fields it does not name follow in the object's own order."""
    schema = dict(schema or {})
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        schema.pop(FORM_ORDER_KEY, None)
        return schema
    kept = schema.get(FORM_ORDER_KEY)
    kept = [name for name in kept if name in properties] if isinstance(kept, list) else []
    schema[FORM_ORDER_KEY] = list(dict.fromkeys(kept + list(properties)))
    return schema


def form_properties(schema: dict | None) -> list[tuple[str, dict]]:
    """The form schema's fields as (name, spec), in the order the author wrote them."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return []
    order = form_schema_ordered(schema)[FORM_ORDER_KEY]
    return [(name, properties[name]) for name in order]


# Four dot-separated groups, the last a letter and two digits: 000.00.28.G22, H22.40.01.G22...
NATIONAL_AGENCY_CODE = r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}$"


class Agency(TimeStampedModel):
    code = models.SlugField(_("mã"), max_length=32, unique=True)
    name = models.CharField(_("tên cơ quan"), max_length=255)
    # The national agency identifier (mã định danh điện tử, Decision 20/2020/QĐ-TTg).
    national_code = models.CharField(
        _("mã định danh cơ quan"), max_length=32, blank=True,
        validators=[RegexValidator(
            NATIONAL_AGENCY_CODE,
            _("Mã định danh gồm bốn nhóm cách nhau bằng dấu chấm, ví dụ 000.00.28.G22."),
        )],
        help_text=_("Ví dụ: 000.00.28.G22. Dùng trong mã hồ sơ qua trường {national}."),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("cơ quan cấp trên"),
    )
    morning_start = models.TimeField(_("sáng từ"), default=time(7, 30))
    morning_end = models.TimeField(_("sáng đến"), default=time(11, 30))
    afternoon_start = models.TimeField(_("chiều từ"), default=time(13, 0))
    afternoon_end = models.TimeField(_("chiều đến"), default=time(17, 0))
    dossier_code_pattern = models.CharField(
        _("mẫu mã hồ sơ"), max_length=64, default="{agency}-{yymmdd}-{seq:04}",
        help_text=_("Trường: {agency}, {national}, {yymmdd}, {yyyy}, {mm}, {dd}, {seq}."),
    )

    class OutcomeRule(models.TextChoices):
        DATE = "date", _("Theo ngày (quy tắc của Cổng DVC quốc gia)")
        SESSION = "session", _("Theo buổi làm việc")

    outcome_rule = models.CharField(
        _("cách xác định kết quả đúng hạn"), max_length=16, choices=OutcomeRule.choices,
        default=OutcomeRule.DATE,
        help_text=_("Theo ngày: trước ngày hẹn là trước hạn, trong ngày hẹn là đúng hạn. Theo "
                    "buổi: trước buổi có giờ hẹn là trước hạn, đến giờ hẹn là đúng hạn."),
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
        if "{national" in self.dossier_code_pattern and not self.national_code:
            raise ValidationError({"national_code": _(
                "Mẫu mã hồ sơ dùng {national}: phải nhập mã định danh của cơ quan."
            )})

    @property
    def sessions(self) -> tuple:
        from .. import sla

        return (
            sla.Session(self.morning_start, self.morning_end),
            sla.Session(self.afternoon_start, self.afternoon_end),
        )

    def format_code(self, *, day, seq: int) -> str:
        return self.dossier_code_pattern.format(
            agency=self.code.upper(), national=self.national_code, yymmdd=day.strftime("%y%m%d"), yyyy=day.strftime("%Y"),
            mm=day.strftime("%m"), dd=day.strftime("%d"), seq=seq,
        )


class Unit(TimeStampedModel):
    """A professional unit (phòng chuyên môn) of an agency: it owns process steps, and its
    specialists see the dossiers whose current step it owns. Officers name their unit by
    `User.unit_code` (the kernel user does not know the catalog), within their agency."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="units", verbose_name=_("cơ quan")
    )
    code = models.SlugField(_("mã phòng"), max_length=32)
    name = models.CharField(_("tên phòng chuyên môn"), max_length=255)

    class Meta:
        verbose_name = _("phòng chuyên môn")
        verbose_name_plural = _("phòng chuyên môn")
        ordering = ["agency", "code"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="unit_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class AgencySeason(models.Model):
    """Working hours in force every year between two days, both included (summer hours, for
    instance); a season whose end comes before its start runs across the new year. Days that
    no season covers keep the agency's own sessions."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="seasons", verbose_name=_("cơ quan")
    )
    name = models.CharField(_("tên"), max_length=64, help_text=_("Ví dụ: Giờ làm việc mùa hè."))
    start_day = models.PositiveSmallIntegerField(
        _("từ ngày"), validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    start_month = models.PositiveSmallIntegerField(
        _("từ tháng"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    end_day = models.PositiveSmallIntegerField(
        _("đến ngày"), validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    end_month = models.PositiveSmallIntegerField(
        _("đến tháng"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    morning_start = models.TimeField(_("sáng từ"))
    morning_end = models.TimeField(_("sáng đến"))
    afternoon_start = models.TimeField(_("chiều từ"))
    afternoon_end = models.TimeField(_("chiều đến"))

    class Meta:
        verbose_name = _("giờ làm việc theo mùa")
        verbose_name_plural = _("giờ làm việc theo mùa")
        ordering = ["agency", "start_month", "start_day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(morning_start__lt=models.F("morning_end"))
                & Q(morning_end__lte=models.F("afternoon_start"))
                & Q(afternoon_start__lt=models.F("afternoon_end")),
                name="agency_season_sessions_ordered",
            ),
            models.CheckConstraint(
                condition=Q(start_month__gte=1, start_month__lte=12, end_month__gte=1,
                            end_month__lte=12, start_day__gte=1, start_day__lte=31,
                            end_day__gte=1, end_day__lte=31),
                name="agency_season_month_day_range",
            ),
            models.UniqueConstraint(fields=["agency", "name"], name="agency_season_name_unique"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.start_day:02}/{self.start_month:02}"
            f"–{self.end_day:02}/{self.end_month:02})"
        )

    def clean(self) -> None:
        errors = {}
        for day, month in (("start_day", "start_month"), ("end_day", "end_month")):
            d, m = getattr(self, day), getattr(self, month)
            if isinstance(d, int) and isinstance(m, int) and 1 <= m <= 12:
                try:
                    date(2024, m, d)  # a leap year: 29/02 is a valid bound
                except ValueError:
                    errors[day] = _("Tháng %(month)s không có ngày %(day)s.") % {
                        "month": m, "day": d,
                    }
        if errors:
            raise ValidationError(errors)

    def as_season(self):
        from .. import sla

        return sla.Season(
            start=(self.start_month, self.start_day), end=(self.end_month, self.end_day),
            sessions=(
                sla.Session(self.morning_start, self.morning_end),
                sla.Session(self.afternoon_start, self.afternoon_end),
            ),
            name=self.name,
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

    class SupplementExpiry(models.TextChoices):
        RETURN = "return", _("Bộ phận một cửa trả lại hồ sơ")
        REFUSE = "refuse", _("Lãnh đạo từ chối giải quyết")

    national_code = models.CharField(_("mã TTHC quốc gia"), max_length=32, blank=True)
    name = models.CharField(_("tên thủ tục"), max_length=500)
    name_en = models.CharField(_("tên tiếng Anh"), max_length=500, blank=True)
    sector = models.CharField(_("lĩnh vực"), max_length=255)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="procedures",
        verbose_name=_("cơ quan thực hiện"),
    )
    online_level = models.CharField(
        _("mức độ trực tuyến"), max_length=16, choices=OnlineLevel.choices
    )
    processing_days = models.DecimalField(
        _("thời hạn giải quyết"), max_digits=6, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    duration_kind = models.CharField(
        _("cách tính thời hạn"), max_length=16, choices=DurationKind.choices,
        default=DurationKind.WORKING_DAYS,
    )
    fee_vnd = models.PositiveBigIntegerField(_("phí, lệ phí (đồng)"), default=0)
    fee_due = models.CharField(
        _("thời điểm nộp phí"), max_length=16, choices=FeeDue.choices, default=FeeDue.EXEMPT
    )
    supplement_clock = models.CharField(
        _("khi yêu cầu bổ sung"), max_length=16, choices=SupplementClock.choices,
        default=SupplementClock.PAUSE,
    )
    supplement_max_requests = models.PositiveSmallIntegerField(
        _("số lần yêu cầu bổ sung tối đa"), default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Mỗi hồ sơ chỉ được yêu cầu bổ sung một lần, trừ khi thủ tục cho phép hơn."),
    )
    supplement_reply_days = models.DecimalField(
        _("thời hạn bổ sung (ngày làm việc)"), max_digits=5, decimal_places=1,
        default=Decimal("10"), validators=[MinValueValidator(Decimal("0.5"))],
    )
    supplement_expiry = models.CharField(
        _("khi quá hạn bổ sung"), max_length=16, choices=SupplementExpiry.choices,
        default=SupplementExpiry.RETURN,
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

    def save(self, *args, **kwargs) -> None:
        self.form_schema = form_schema_ordered(self.form_schema) if self.form_schema else {}
        super().save(*args, **kwargs)

    def form_errors(self, data) -> list[dict]:
        """Every way `data` breaks the form schema, as {"field", "code", "message"} with the
        message in Vietnamese naming the field by its title, sorted by field and message."""
        from ..services.form_errors import form_errors_describe

        schema = self.form_schema or {}
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()
        )
        return form_errors_describe(validator.iter_errors(data), schema)

    @property
    def fee_due_at_submission(self) -> bool:
        return self.fee_vnd > 0 and self.fee_due == self.FeeDue.SUBMISSION


class ProcessStep(models.Model):
    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="steps", verbose_name=_("thủ tục")
    )
    order = models.PositiveSmallIntegerField(_("thứ tự"))
    code = models.SlugField(_("mã bước"), max_length=32)
    name = models.CharField(_("tên bước"), max_length=255)
    role = models.CharField(
        _("vai trò"), max_length=16,
        choices=[
            (Role.RECEPTION, _("Bộ phận Một cửa")),
            (Role.SPECIALIST, _("Chuyên viên")),
            (Role.LEADER, _("Lãnh đạo")),
        ],
    )
    budget_days = models.DecimalField(_("thời gian (ngày)"), max_digits=6, decimal_places=2)
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="steps",
        verbose_name=_("phòng chuyên môn"),
        help_text=_("Phòng thực hiện bước này; để trống nếu cả cơ quan cùng xử lý."),
    )

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

    def clean(self) -> None:
        if (self.unit_id and self.procedure_id
                and self.unit.agency_id != self.procedure.agency_id):
            raise ValidationError(
                {"unit": _("Phòng chuyên môn phải thuộc cơ quan thực hiện thủ tục.")}
            )


class DocumentComponent(models.Model):
    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="components", verbose_name=_("thủ tục")
    )
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

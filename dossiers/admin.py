"""Admin screens: the catalog is edited here; dossier records are read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    Agency,
    ApologySlip,
    ClockInterval,
    DailySummary,
    Document,
    DocumentComponent,
    Dossier,
    DossierTransition,
    HolidayOverride,
    IdempotencyRecord,
    InboundCall,
    OutboundMessage,
    Payment,
    Procedure,
    ProcessStep,
    Rating,
    Result,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write: visible to staff, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "morning_start", "morning_end", "afternoon_start",
                    "afternoon_end", "dossier_code_pattern"]
    search_fields = ["code", "name"]


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "reason"]
    list_filter = ["kind"]


class ProcessStepInline(admin.TabularInline):
    model = ProcessStep
    extra = 0


class DocumentComponentInline(admin.TabularInline):
    model = DocumentComponent
    extra = 0


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ["national_code", "name", "sector", "processing_days", "fee_vnd", "fee_due",
                    "online_level", "demo_values", "is_active"]
    list_filter = ["sector", "online_level", "fee_due", "is_active", "agency"]
    search_fields = ["national_code", "name"]
    inlines = [ProcessStepInline, DocumentComponentInline]

    @admin.display(description=_("giả định demo"))
    def demo_values(self, obj: Procedure) -> str:
        return ", ".join(obj.demo_assumptions) or "—"


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    can_delete = False
    fields = ["component", "version", "original_name", "content_type", "size", "sha256",
              "is_current", "signature_verdict"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TransitionInline(admin.TabularInline):
    model = DossierTransition
    extra = 0
    can_delete = False
    fields = ["at", "name", "from_state", "to_state", "actor_label", "reason", "clock_effect"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = ["code", "procedure", "state", "channel", "received_at", "due_at",
                    "completed_at", "outcome", "assignee"]
    list_filter = ["state", "channel", "outcome", "handling_agency"]
    search_fields = ["code"]
    list_select_related = ["procedure", "assignee"]
    inlines = [DocumentInline, TransitionInline]
    date_hierarchy = "created_at"


@admin.register(DossierTransition)
class DossierTransitionAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "name", "from_state", "to_state", "actor_label", "at"]
    list_filter = ["name"]
    list_select_related = ["dossier"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "component", "version", "original_name", "content_type", "size",
                    "signature_verdict", "is_current"]
    list_select_related = ["dossier", "component"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "amount", "channel", "provider", "status", "paid_at",
                    "confirmed_by"]
    list_filter = ["status", "channel", "provider"]


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "kind", "number", "issued_at", "electronic", "signed"]


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "score", "created_at"]


@admin.register(ClockInterval)
class ClockIntervalAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "kind", "policy", "started_at", "ended_at", "working_minutes"]


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdmin):
    list_display = ["day", "agency", "procedure", "channel", "received", "completed", "early",
                    "on_time", "late"]
    list_filter = ["agency", "channel"]
    date_hierarchy = "day"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["user", "key", "scope", "response_status", "created_at"]


@admin.register(ApologySlip)
class ApologySlipAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "status", "original_due_at", "new_appointment_at", "approved_at"]
    list_filter = ["status"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "dossier", "system", "kind", "status", "attempts", "next_attempt_at",
                    "sent_at", "short_error"]
    list_filter = ["status", "system", "kind"]
    search_fields = ["dossier__code", "idempotency_key", "external_reference"]
    list_select_related = ["dossier"]
    actions = ["redrive"]

    @admin.display(description=_("lỗi gần nhất"))
    def short_error(self, obj: OutboundMessage) -> str:
        return obj.last_error[:120]

    def has_change_permission(self, request, obj=None):
        # The re-drive action needs change rights; the form itself stays read-only.
        return request.user.is_superuser if obj is None else False

    @admin.action(description=_("Gửi lại các thông điệp đã ngừng gửi"))
    def redrive(self, request, queryset):
        from .services.sync import outbox_redrive

        count = outbox_redrive(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(n)d thông điệp được đưa lại vào hàng đợi.") % {"n": count})


@admin.register(InboundCall)
class InboundCallAdmin(ReadOnlyAdmin):
    list_display = ["source", "key", "response_status", "created_at"]
    list_filter = ["source"]

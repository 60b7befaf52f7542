"""Admin screens: the configuration is edited here. Dossier records (the dossier, its documents,
log, clock, payments, result, rating, apology, remembered answers, indicator rows) are not
registered at all: administrators configure the portal and read no dossier (DESIGN §1)."""

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from . import sla
from .models import (
    Agency,
    DocumentComponent,
    HolidayOverride,
    InboundCall,
    OutboundMessage,
    PersonalDataAccess,
    Procedure,
    ProcessStep,
    Unit,
)
from .models.catalog import AgencySeason


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services write: visible to staff, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgencySeasonFormSet(BaseInlineFormSet):
    """Refuses two seasons of one agency in force on a same day of the year."""

    def clean(self) -> None:
        super().clean()
        seasons = []
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            if form.errors or (form.cleaned_data or {}).get("DELETE"):
                continue
            try:
                seasons.append(form.instance.as_season())
            except (TypeError, ValueError):
                continue  # the row's own errors are already on its form
        clash = sla.overlapping_seasons(seasons)
        if clash:
            raise ValidationError(
                _("Hai mùa “%(first)s” và “%(second)s” trùng ngày hiệu lực."),
                params={"first": clash[0].name, "second": clash[1].name},
            )


class AgencySeasonInline(admin.TabularInline):
    model = AgencySeason
    formset = AgencySeasonFormSet
    extra = 0


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "morning_start", "morning_end", "afternoon_start",
                    "afternoon_end", "dossier_code_pattern", "outcome_rule"]
    search_fields = ["code", "name"]
    inlines = [AgencySeasonInline, UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "agency"]
    list_filter = ["agency"]
    search_fields = ["code", "name"]


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "reason"]
    list_filter = ["kind"]
    # A link to the re-timing of the dossiers a correction moves, above the list.
    change_list_template = "admin/dossiers/holidayoverride/change_list.html"
    actions = ["retime_preview"]

    def get_urls(self):
        from django.urls import path

        from .admin_retime import retime_view

        view = self.admin_site.admin_view(lambda request: retime_view(request, self))
        return [path("dieu-chinh-han/", view, name="dossiers_holidayoverride_retime"),
                *super().get_urls()]

    @admin.action(description=_("Xem trước việc dời hạn hồ sơ theo các ngày đã chọn"))
    def retime_preview(self, request, queryset):
        from urllib.parse import urlencode

        from django.shortcuts import redirect
        from django.urls import reverse

        days = sorted(queryset.values_list("date", flat=True))
        query = urlencode({"days": ", ".join(d.strftime("%d/%m/%Y") for d in days)})
        return redirect(f"{reverse('admin:dossiers_holidayoverride_retime')}?{query}")


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

    @admin.display(description=_("giá trị giả định cho bản demo"))
    def demo_values(self, obj: Procedure) -> str:
        # The catalog names the assumed values by field; the administrator reads their labels.
        return ", ".join(_assumed_value_label(name) for name in obj.demo_assumptions) or "—"


def _assumed_value_label(name: str) -> str:
    if name == "components":
        return str(DocumentComponent._meta.verbose_name_plural)
    if name == "steps":
        return str(ProcessStep._meta.verbose_name_plural)
    try:
        return str(Procedure._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "dossier", "system", "kind", "status", "attention", "attempts",
                    "last_attempt_at", "next_attempt_at", "sent_at", "short_error"]
    list_filter = ["status", "attention", "system", "kind"]
    search_fields = ["dossier__code", "idempotency_key", "external_reference"]
    # Metadata only: the payload carries the applicant's personal data.
    exclude = ["payload"]
    list_select_related = ["dossier"]
    actions = ["redrive"]

    @admin.display(description=_("lỗi gần nhất"))
    def short_error(self, obj: OutboundMessage) -> str:
        return obj.last_error[:120]

    def has_change_permission(self, request, obj=None):
        # The re-drive action needs change rights; the form itself stays read-only.
        return request.user.is_superuser if obj is None else False

    def changelist_view(self, request, extra_context=None):
        from .services.outbox_alerts import outbox_alerts

        # What stops the outbox, above the list: a portal refusing our credentials, answers
        # we cannot read, messages held for a procedure without its national code.
        if request.method == "GET":  # an action's POST redirects to the GET that shows them
            for alert in outbox_alerts():
                self.message_user(request, alert.text, level=messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Gửi lại ngay (ngừng gửi, lỗi, tạm giữ)"))
    def redrive(self, request, queryset):
        from .services.sync import outbox_redrive

        ids = list(queryset.values_list("pk", flat=True))
        count = outbox_redrive(message_ids=ids)
        self.message_user(request, _("%(n)d thông điệp được đưa lại vào hàng đợi.") % {"n": count})
        still_held = OutboundMessage.objects.filter(
            pk__in=ids, status=OutboundMessage.Status.HELD).count()
        if still_held:
            self.message_user(request, _(
                "%(n)d thông điệp vẫn bị giữ: thủ tục của hồ sơ chưa có mã TTHC quốc gia."
            ) % {"n": still_held}, level=messages.WARNING)


@admin.register(InboundCall)
class InboundCallAdmin(ReadOnlyAdmin):
    list_display = ["source", "key", "response_status", "created_at"]
    list_filter = ["source"]
    exclude = ["response_body"]  # what we answered about a dossier


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    """Who opened which dossier's personal data: read here, never changed or removed. It names
    the dossier by its number only, so an administrator reads no dossier's contents here."""

    list_display = ["at", "user_label", "dossier_number", "what", "document_number", "route",
                    "ip"]
    list_filter = ["what"]
    search_fields = ["user_label", "user__username", "=dossier__id", "ip"]
    date_hierarchy = "at"
    list_select_related = False
    show_full_result_count = False

    def get_actions(self, request):
        return {}  # no bulk action: the log is never deleted

    @admin.display(description=_("số hồ sơ"), ordering="dossier_id")
    def dossier_number(self, obj: PersonalDataAccess) -> int:
        return obj.dossier_id

    @admin.display(description=_("số giấy tờ"))
    def document_number(self, obj: PersonalDataAccess) -> str:
        return str(obj.document_id or "—")

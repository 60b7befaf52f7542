from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import IssuedDocument, RevocationRecord, TrustedCertificate
from .truststore import trust_anchor_set_enabled


@admin.register(TrustedCertificate)
class TrustedCertificateAdmin(admin.ModelAdmin):
    list_display = ["subject", "scope", "role", "not_after", "enabled", "fingerprint_sha256"]
    list_filter = ["scope", "role", "enabled"]
    search_fields = ["subject", "fingerprint_sha256"]
    # Certificates come in through `manage.py import_trust_anchors`; here only enable/disable,
    # through the service.
    exclude = ["der"]
    readonly_fields = ["role", "scope", "subject", "issuer", "serial_hex", "fingerprint_sha256",
                       "not_before", "not_after", "enabled", "note", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description=_("Bật (tin cậy)"))
    def enable(self, request, queryset):
        trust_anchor_set_enabled(ids=list(queryset.values_list("pk", flat=True)), enabled=True)

    @admin.action(description=_("Tắt (không tin cậy)"))
    def disable(self, request, queryset):
        trust_anchor_set_enabled(ids=list(queryset.values_list("pk", flat=True)), enabled=False)


@admin.register(RevocationRecord)
class RevocationRecordAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "this_update", "next_update", "fetched_at", "last_error"]
    list_filter = ["kind"]
    search_fields = ["source"]
    exclude = ["der"]
    readonly_fields = ["kind", "source", "sha256", "this_update", "next_update", "fetched_at",
                       "last_error"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(admin.ModelAdmin):
    list_display = ["reference", "filename", "issued_at", "level", "signer_backend", "sha256"]
    list_filter = ["level", "signer_backend"]
    search_fields = ["reference", "sha256", "code"]
    readonly_fields = [f.name for f in IssuedDocument._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

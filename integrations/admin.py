"""Admin screens for the code tables: administrators edit the mappings here."""

from django.contrib import admin

from .models import ProcedureCodeMapping, StatusMapping


@admin.register(StatusMapping)
class StatusMappingAdmin(admin.ModelAdmin):
    list_display = ["system", "state", "transition", "status_code", "note"]
    list_editable = ["status_code"]
    list_filter = ["system", "status_code"]
    search_fields = ["state", "transition"]


@admin.register(ProcedureCodeMapping)
class ProcedureCodeMappingAdmin(admin.ModelAdmin):
    list_display = ["system", "local_code", "remote_code"]
    list_filter = ["system"]
    search_fields = ["local_code", "remote_code"]

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Hồ sơ người dùng"), {"fields": ("full_name", "kind", "tax_code", "citizen_id",
                                            "phone", "agency_code")}),
    )
    list_display = ["username", "full_name", "kind", "agency_code", "is_staff"]
    list_filter = ["kind", "agency_code", "groups"]

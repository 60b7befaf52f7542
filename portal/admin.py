from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import TokenProxy

from .models import User

# The admin opens only to a session verified by the second factor (sign-in at /dang-nhap/).
admin.site.__class__ = OTPAdminSite
# Devices and API tokens are managed with manage.py (reset_second_factor, issue_api_token);
# the libraries' admin pages would show their secrets and speak English.
for _model in (TOTPDevice, StaticDevice, TokenProxy):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
admin.site.site_header = _("Quản trị Một Cửa")
admin.site.site_title = _("Quản trị Một Cửa")
admin.site.index_title = _("Danh mục, lịch làm việc, kết nối và tài khoản cán bộ")


def _usable_password_field():
    # Django's Vietnamese catalog has no words yet for this choice (new in Django 5.1).
    field = AdminUserCreationForm.create_usable_password_field(help_text=_(
        "Tài khoản có được đăng nhập bằng mật khẩu hay không. Nếu không, người dùng vẫn có thể "
        "đăng nhập bằng cách khác (đăng nhập một lần, LDAP) nếu được cấu hình."
    ))
    field.label = _("Đăng nhập bằng mật khẩu")
    field.choices = [("true", _("Cho phép")), ("false", _("Không cho phép"))]
    return field


class UserCreationForm(AdminUserCreationForm):
    usable_password = _usable_password_field()


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Officers' and administrators' accounts. Applicants' accounts, with their identity numbers,
    belong to the dossiers they file and are not shown here."""

    add_form = UserCreationForm
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Hồ sơ người dùng"), {"fields": ("full_name", "kind", "tax_code", "citizen_id",
                                            "phone", "agency_code", "unit_code")}),
    )
    list_display = ["username", "full_name", "kind", "agency_code", "is_staff"]
    list_filter = ["kind", "agency_code", "groups"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            Q(kind=User.Kind.STAFF) | Q(is_staff=True) | Q(is_superuser=True)
        )

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.kind = User.Kind.STAFF
        super().save_model(request, obj, form, change)

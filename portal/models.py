"""Shared kernel models: the user account and the timestamp base."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import Role


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)
    updated_at = models.DateTimeField(_("cập nhật lúc"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("Cá nhân")
        BUSINESS = "business", _("Tổ chức, doanh nghiệp")
        STAFF = "staff", _("Cán bộ, công chức")

    full_name = models.CharField(_("họ và tên / tên tổ chức"), max_length=255, blank=True)
    kind = models.CharField(
        _("loại tài khoản"), max_length=16, choices=Kind.choices, default=Kind.CITIZEN
    )
    tax_code = models.CharField(_("mã số thuế"), max_length=14, blank=True)
    citizen_id = models.CharField(_("số CCCD"), max_length=12, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=20, blank=True)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    # An officer's title as the portals print it (ChucDanh), e.g. "Chuyên viên".
    title = models.CharField(_("chức danh"), max_length=128, blank=True)
    # Officers belong to one agency; the code keeps the kernel free of the dossiers app.
    agency_code = models.CharField(_("mã cơ quan"), max_length=32, blank=True, db_index=True)
    # A specialist's unit (phòng chuyên môn) within that agency, by its code, for the same reason.
    unit_code = models.CharField(
        _("mã phòng chuyên môn"), max_length=32, blank=True,
        help_text=_("Mã phòng chuyên môn của cán bộ trong cơ quan; để trống nếu không thuộc phòng nào."),
    )

    class Meta:
        verbose_name = _("người dùng")
        verbose_name_plural = _("người dùng")

    @property
    def roles(self) -> frozenset[str]:
        if not hasattr(self, "_roles_cache"):
            names = set(self.groups.values_list("name", flat=True)) if self.pk else set()
            if self.is_superuser:
                names.add(Role.ADMIN)
            self._roles_cache = frozenset(names)
        return self._roles_cache

    def get_session_auth_hash(self) -> str:
        # The signed-in account's cached copy (portal.accounts) carries this hash, not the
        # password's: the password is then a deferred field, read from the database only if
        # something reads it (and saving that copy leaves it as it is).
        if "password" not in self.__dict__ and self.__dict__.get("_session_auth_hash"):
            return self.__dict__["_session_auth_hash"]
        return super().get_session_auth_hash()

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_officer(self) -> bool:
        return self.has_role(*Role.OFFICERS)

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

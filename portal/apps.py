from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Cổng Một Cửa")

    def ready(self) -> None:
        from . import accounts, signin  # noqa: F401 - signin connects the sign-in log and clock

        accounts.connect()  # what drops a cached account

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Kết nối hệ thống ngoài")

    def ready(self) -> None:
        # Registers the configuration checks and the registry's settings-changed hook.
        from . import checks, registry  # noqa: F401

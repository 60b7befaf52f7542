from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Kết nối hệ thống ngoài"

    def ready(self) -> None:
        # Registers the configuration checks and the registry's settings-changed hook.
        from . import checks, registry  # noqa: F401

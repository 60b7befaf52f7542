"""System checks: a misconfigured integration stops `manage.py check` and start-up."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .base import SYSTEMS
from .http import (
    FAKE,
    load_payment_config,
    load_portal_config,
    payment_implementation,
    portal_implementation,
)


@checks.register("integrations")
def integrations_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []

    def attempt(check_id: str, load) -> None:
        try:
            load()
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id=check_id))

    for system in SYSTEMS:
        attempt("integrations.E001", lambda s=system: portal_implementation(s))
    attempt("integrations.E002", payment_implementation)
    if errors:
        return errors
    for system in SYSTEMS:
        if portal_implementation(system) != FAKE:
            attempt("integrations.E003", lambda s=system: load_portal_config(s))
    if payment_implementation() != FAKE:
        attempt("integrations.E004", load_payment_config)
    real_portals = [s for s in SYSTEMS if portal_implementation(s) != FAKE]
    if not settings.DEBUG:
        fakes = [s for s in SYSTEMS if s not in real_portals]
        if payment_implementation() == FAKE:
            fakes.append("payment")
        if fakes:
            errors.append(checks.Warning(
                f"in-process fakes answer for: {', '.join(fakes)}",
                hint="Set NATIONAL_PORTAL_URL, PROVINCIAL_PORTAL_URL, PAYMENT_PLATFORM_URL.",
                id="integrations.W001",
            ))
    if real_portals and not getattr(settings, "INBOUND_HMAC_SECRET", ""):
        errors.append(checks.Warning(
            "INBOUND_HMAC_SECRET is not set: every inbound call from the portals is refused",
            id="integrations.W002",
        ))
    return errors

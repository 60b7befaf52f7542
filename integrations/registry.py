"""Which adapter answers for each remote system, as settings choose; swappable in tests."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import SYSTEMS, PaymentProvider, PortalAdapter
from .http import (
    FAKE,
    load_payment_config,
    load_portal_config,
    payment_implementation,
    portal_implementation,
)

_lock = threading.Lock()
_portals: dict[str, PortalAdapter] = {}
_payments: list[PaymentProvider] = []


def build_portal_adapter(system: str) -> PortalAdapter:
    """A new adapter for a system, as settings configure it (fails early when misconfigured)."""
    chosen = portal_implementation(system)
    if chosen == FAKE:
        from .adapters.fake import FakePortalAdapter

        return FakePortalAdapter(system)
    config = load_portal_config(system)
    if system == "national":
        from .adapters.national import NationalPortalAdapter

        return NationalPortalAdapter(config)
    from .adapters.provincial import ProvincialPortalAdapter

    return ProvincialPortalAdapter(config)


def build_payment_provider() -> PaymentProvider:
    if payment_implementation() == FAKE:
        from .payment_providers.fake import FakePaymentProvider

        return FakePaymentProvider()
    from .payment_providers.platform import PlatformPaymentProvider

    return PlatformPaymentProvider(load_payment_config())


def get_portal_adapter(system: str) -> PortalAdapter:
    """The one adapter of a system (`national` or `provincial`) for this process."""
    with _lock:
        if system not in _portals:
            if system not in SYSTEMS:
                raise KeyError(system)
            _portals[system] = build_portal_adapter(system)
        return _portals[system]


def get_payment_provider() -> PaymentProvider:
    """The one payment provider for this process."""
    with _lock:
        if not _payments:
            _payments.append(build_payment_provider())
        return _payments[0]


def reset() -> None:
    """Forget built adapters; the next call builds them from the current settings."""
    with _lock:
        _portals.clear()
        _payments.clear()


@contextmanager
def override_portal_adapter(system: str, adapter: PortalAdapter) -> Iterator[PortalAdapter]:
    """Use `adapter` for `system` inside the block (tests)."""
    with _lock:
        previous = _portals.get(system)
        _portals[system] = adapter
    try:
        yield adapter
    finally:
        with _lock:
            if previous is None:
                _portals.pop(system, None)
            else:
                _portals[system] = previous


@contextmanager
def override_payment_provider(provider: PaymentProvider) -> Iterator[PaymentProvider]:
    """Use `provider` inside the block (tests)."""
    with _lock:
        previous = list(_payments)
        _payments[:] = [provider]
    try:
        yield provider
    finally:
        with _lock:
            _payments[:] = previous


_OUR_SETTINGS = ("NATIONAL_PORTAL_", "PROVINCIAL_PORTAL_", "PAYMENT_", "INTEGRATIONS_")


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith(_OUR_SETTINGS):
        reset()

"""Settings pick the adapters; tests swap them."""

from django.core.exceptions import ImproperlyConfigured

import pytest

from integrations import registry
from integrations.adapters.fake import FakePortalAdapter
from integrations.adapters.national import NationalPortalAdapter
from integrations.adapters.provincial import ProvincialPortalAdapter
from integrations.base import PaymentProvider, PortalAdapter
from integrations.payment_providers.fake import FakePaymentProvider
from integrations.payment_providers.platform import PlatformPaymentProvider

from .test_http import NATIONAL, PAYMENT, configure


@pytest.fixture(autouse=True)
def fresh_registry():
    registry.reset()
    yield
    registry.reset()


def test_fakes_answer_when_nothing_is_configured(settings):
    configure(settings, {"NATIONAL_PORTAL_URL": "", "PROVINCIAL_PORTAL_URL": "",
                         "PAYMENT_PLATFORM_URL": ""})

    national = registry.get_portal_adapter("national")

    assert isinstance(national, FakePortalAdapter) and national.system == "national"
    assert isinstance(registry.get_portal_adapter("provincial"), FakePortalAdapter)
    assert isinstance(registry.get_payment_provider(), FakePaymentProvider)
    assert isinstance(national, PortalAdapter)
    assert isinstance(registry.get_payment_provider(), PaymentProvider)


def test_setting_a_url_turns_the_real_adapter_on(settings):
    configure(settings, {**NATIONAL, **PAYMENT, "PROVINCIAL_PORTAL_URL": "http://127.0.0.1:9/p",
                         "PROVINCIAL_PORTAL_USERNAME": "pu", "PROVINCIAL_PORTAL_PASSWORD": "pp"})

    national = registry.get_portal_adapter("national")
    provincial = registry.get_portal_adapter("provincial")

    assert isinstance(national, NationalPortalAdapter)
    assert isinstance(provincial, ProvincialPortalAdapter)
    assert provincial.config.username == "pu" and national.config.username == "u"
    assert national.session is not provincial.session
    assert isinstance(registry.get_payment_provider(), PlatformPaymentProvider)
    assert isinstance(national, PortalAdapter)


def test_one_adapter_and_session_per_system_until_settings_change(settings):
    configure(settings, NATIONAL)
    first = registry.get_portal_adapter("national")
    assert registry.get_portal_adapter("national") is first

    settings.NATIONAL_PORTAL_USERNAME = "someone-else"

    assert registry.get_portal_adapter("national").config.username == "someone-else"


def test_an_explicit_fake_wins_over_a_configured_url(settings):
    configure(settings, {**NATIONAL, "NATIONAL_PORTAL_ADAPTER": "fake"})
    assert isinstance(registry.get_portal_adapter("national"), FakePortalAdapter)


def test_a_chosen_adapter_without_its_settings_fails_when_built(settings):
    configure(settings, {"NATIONAL_PORTAL_ADAPTER": "national", "NATIONAL_PORTAL_URL": ""})
    with pytest.raises(ImproperlyConfigured, match="NATIONAL_PORTAL_URL"):
        registry.get_portal_adapter("national")


def test_unknown_systems_and_adapter_names_are_refused(settings):
    with pytest.raises(KeyError):
        registry.get_portal_adapter("district")
    settings.PROVINCIAL_PORTAL_ADAPTER = "national"
    with pytest.raises(ImproperlyConfigured):
        registry.get_portal_adapter("provincial")


def test_overrides_swap_in_an_adapter_for_a_block():
    mine = FakePortalAdapter("national")
    provider = FakePaymentProvider()
    with registry.override_portal_adapter("national", mine), \
            registry.override_payment_provider(provider):
        assert registry.get_portal_adapter("national") is mine
        assert registry.get_payment_provider() is provider
    assert registry.get_portal_adapter("national") is not mine
    assert registry.get_payment_provider() is not provider

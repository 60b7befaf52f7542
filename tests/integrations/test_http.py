"""Configuration read in one place, failing early; the shared session's policy; what each
answer means for the outbox."""

import json

from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

import pytest
import requests

from integrations.checks import integrations_configured
from integrations.exceptions import (
    BadResponse,
    PortalAuthFailed,
    PortalRejected,
    PortalUnavailable,
)
from integrations.http import (
    MAX_DETAIL_CHARS,
    build_session,
    load_inbound_config,
    load_payment_config,
    load_portal_config,
    raise_for_status,
    send,
)

NATIONAL = {
    "NATIONAL_PORTAL_URL": "http://127.0.0.1:9/national/",
    "NATIONAL_PORTAL_USERNAME": "u", "NATIONAL_PORTAL_PASSWORD": "p",
}
PAYMENT = {
    "PAYMENT_PLATFORM_URL": "http://127.0.0.1:9/payment", "PAYMENT_MERCHANT_ID": "M",
    "PAYMENT_SECRET": "s", "PAYMENT_BENEFICIARY_ACCOUNT": "001", "PAYMENT_BENEFICIARY_BANK": "VCB",
    "PAYMENT_BENEFICIARY_NAME": "SO CONG THUONG",
}


def configure(settings, values):
    for name, value in values.items():
        setattr(settings, name, value)


def test_portal_config_reads_settings_once_typed(settings):
    configure(settings, {**NATIONAL, "NATIONAL_PORTAL_PASSWORD": "hunter2-secret",
                         "INTEGRATIONS_CONNECT_TIMEOUT": 2, "INTEGRATIONS_READ_TIMEOUT": 7.5})

    config = load_portal_config("national")

    assert config.base_url == "http://127.0.0.1:9/national"
    assert config.timeouts == (2.0, 7.5)
    assert config.password == "hunter2-secret"
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize("name, value", [
    ("NATIONAL_PORTAL_URL", ""), ("NATIONAL_PORTAL_URL", "ftp://x"),
    ("NATIONAL_PORTAL_URL", "127.0.0.1:9"), ("NATIONAL_PORTAL_USERNAME", ""),
    ("NATIONAL_PORTAL_PASSWORD", ""), ("INTEGRATIONS_READ_TIMEOUT", 0),
])
def test_portal_config_fails_early_naming_what_is_wrong(settings, name, value):
    configure(settings, {**NATIONAL, name: value})
    with pytest.raises(ImproperlyConfigured, match=name.split("_")[0]):
        load_portal_config("national")


def test_provincial_portal_is_configured_separately(settings):
    configure(settings, NATIONAL)
    with pytest.raises(ImproperlyConfigured, match="PROVINCIAL_PORTAL_URL"):
        load_portal_config("provincial")


def test_payment_config_needs_url_merchant_and_secret(settings):
    configure(settings, PAYMENT)
    config = load_payment_config()
    assert config.beneficiary.bank_code == "VCB" and config.callback_window == 600

    for name in ("PAYMENT_PLATFORM_URL", "PAYMENT_MERCHANT_ID", "PAYMENT_SECRET",
                 "PAYMENT_BENEFICIARY_BANK"):
        configure(settings, {**PAYMENT, name: ""})
        with pytest.raises(ImproperlyConfigured, match=name):
            load_payment_config()


def test_inbound_config_needs_a_secret(settings):
    settings.INBOUND_HMAC_SECRET = ""
    with pytest.raises(ImproperlyConfigured, match="INBOUND_HMAC_SECRET"):
        load_inbound_config()
    settings.INBOUND_HMAC_SECRET = "x"
    assert load_inbound_config().window == 300


def test_system_check_stops_start_up_when_a_chosen_integration_lacks_settings(settings):
    settings.NATIONAL_PORTAL_ADAPTER = "national"
    settings.NATIONAL_PORTAL_URL = ""
    with pytest.raises(SystemCheckError, match="NATIONAL_PORTAL_URL"):
        call_command("check")


def test_system_check_refuses_an_unknown_adapter_name(settings):
    settings.PAYMENT_PROVIDER = "vnpay"
    with pytest.raises(SystemCheckError, match="PAYMENT_PROVIDER"):
        call_command("check")


def test_the_session_never_retries_on_its_own_and_ignores_environment_proxies(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    session = build_session()

    assert session.trust_env is False
    retries = session.get_adapter("http://127.0.0.1").max_retries
    assert retries.total == 0 and retries.connect == 0 and retries.read == 0


def test_fakes_in_production_and_a_missing_inbound_secret_are_warned_about(settings):
    configure(settings, {**NATIONAL, "DEBUG": False, "INBOUND_HMAC_SECRET": ""})

    ids = {message.id for message in integrations_configured()}

    assert ids == {"integrations.W001", "integrations.W002"}
    configure(settings, {"DEBUG": True, "INBOUND_HMAC_SECRET": "x"})
    assert integrations_configured() == []


def answer(status: int, body: bytes = b"", content_type: str = "application/json"):
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = body
    return response


REFUSAL = json.dumps({"code": "dossier_unknown", "message": "Hồ sơ chưa được đồng bộ."}).encode()
PROXY_PAGE = b"<html><body>404 Not Found</body></html>"


@pytest.mark.parametrize("status, body, error, retryable, alert", [
    (503, b"", PortalUnavailable, True, ""),
    (408, b"", PortalUnavailable, True, ""),
    (429, REFUSAL, PortalUnavailable, True, ""),
    (401, REFUSAL, PortalAuthFailed, True, "credentials"),
    (403, PROXY_PAGE, PortalAuthFailed, True, "credentials"),
    (404, REFUSAL, PortalRejected, False, ""),
    (422, REFUSAL, PortalRejected, False, ""),
    # A refusal that does not say why is not the portal refusing this message: a proxy's page,
    # an empty or blank error.
    (404, PROXY_PAGE, BadResponse, True, "unreadable"),
    (400, b"{}", BadResponse, True, "unreadable"),
    (400, b'{"code": " ", "message": 7}', BadResponse, True, "unreadable"),
    (400, b"[1, 2]", BadResponse, True, "unreadable"),
    (302, b"", BadResponse, True, "unreadable"),
])
def test_only_a_refusal_that_says_why_is_final(status, body, error, retryable, alert):
    with pytest.raises(error) as caught:
        raise_for_status(answer(status, body))
    assert (caught.value.retryable, caught.value.alert) == (retryable, alert)


def test_a_2xx_answer_passes():
    assert raise_for_status(answer(201, b"not even json")) is None


def test_a_long_refusal_text_is_cut_before_it_reaches_logs_and_the_admin():
    body = json.dumps({"code": "x" * 5000, "message": "y" * 5000}).encode()
    with pytest.raises(PortalRejected) as caught:
        raise_for_status(answer(400, body))
    assert len(caught.value.extra["code"]) == len(str(caught.value)) == MAX_DETAIL_CHARS


def test_an_answer_bigger_than_the_bound_is_not_read_whole(receiver, monkeypatch):
    monkeypatch.setattr("integrations.http.MAX_RESPONSE_BYTES", 1000)
    receiver.respond = lambda path, headers, body: (200, b"[" + b"0," * 5000 + b"0]")

    with pytest.raises(BadResponse) as caught:
        send(build_session(), "POST", receiver.url + "/big", timeouts=(1.0, 1.0),
             idempotency_key="k", json={})

    assert caught.value.extra == {"status": 200, "reason": "too_large"}

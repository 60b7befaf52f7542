"""HTTP plumbing: typed configuration read from settings in one place, one session per system."""

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .base import NATIONAL, PROVINCIAL, BeneficiaryAccount
from .exceptions import BadResponse, PortalRejected, PortalUnavailable
from .wire import IDEMPOTENCY_HEADER

logger = logging.getLogger(__name__)

FAKE = "fake"
PORTAL_IMPLEMENTATIONS = {NATIONAL: (FAKE, NATIONAL), PROVINCIAL: (FAKE, PROVINCIAL)}
PAYMENT_IMPLEMENTATIONS = (FAKE, "platform")
_PORTAL_PREFIX = {NATIONAL: "NATIONAL_PORTAL", PROVINCIAL: "PROVINCIAL_PORTAL"}


@dataclass(frozen=True)
class PortalConfig:
    system: str
    base_url: str
    username: str
    password: str = field(repr=False)
    timeouts: tuple[float, float] = (3.05, 10.0)  # (connect, read) seconds
    token_skew: float = 30.0  # log in again this many seconds before the token expires


@dataclass(frozen=True)
class PaymentConfig:
    base_url: str
    merchant_id: str
    secret: str = field(repr=False)
    beneficiary: BeneficiaryAccount | None = None
    notify_url: str = ""  # where the platform posts confirmations; "" = as agreed off-line
    callback_window: int = 600  # seconds a signed callback or query stays acceptable
    timeouts: tuple[float, float] = (3.05, 10.0)


@dataclass(frozen=True)
class InboundConfig:
    secret: str = field(repr=False)
    window: int = 300


def _setting(name: str, default=""):
    return getattr(settings, name, default)


def _timeouts() -> tuple[float, float]:
    connect = float(_setting("INTEGRATIONS_CONNECT_TIMEOUT", 3.05))
    read = float(_setting("INTEGRATIONS_READ_TIMEOUT", 10.0))
    if connect <= 0 or read <= 0:
        raise ImproperlyConfigured("INTEGRATIONS_CONNECT_TIMEOUT and _READ_TIMEOUT must be > 0")
    return connect, read


def _require_url(name: str) -> str:
    url = str(_setting(name) or "").rstrip("/")
    if not url:
        raise ImproperlyConfigured(f"{name} is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, not {url!r}")
    return url


def _require(name: str) -> str:
    value = str(_setting(name) or "")
    if not value:
        raise ImproperlyConfigured(f"{name} is not set")
    return value


def portal_implementation(system: str) -> str:
    """Which adapter settings pick for a system: its own when its URL is set, else the fake."""
    if system not in _PORTAL_PREFIX:
        raise ImproperlyConfigured(f"unknown portal system {system!r}")
    prefix = _PORTAL_PREFIX[system]
    chosen = _setting(f"{prefix}_ADAPTER") or (system if _setting(f"{prefix}_URL") else FAKE)
    if chosen not in PORTAL_IMPLEMENTATIONS[system]:
        raise ImproperlyConfigured(
            f"{prefix}_ADAPTER must be one of {PORTAL_IMPLEMENTATIONS[system]}"
        )
    return chosen


def payment_implementation() -> str:
    by_url = "platform" if _setting("PAYMENT_PLATFORM_URL") else FAKE
    chosen = _setting("PAYMENT_PROVIDER") or by_url
    if chosen not in PAYMENT_IMPLEMENTATIONS:
        raise ImproperlyConfigured(f"PAYMENT_PROVIDER must be one of {PAYMENT_IMPLEMENTATIONS}")
    return chosen


def load_portal_config(system: str) -> PortalConfig:
    """The settings of one portal, checked; ImproperlyConfigured names what is missing."""
    if system not in _PORTAL_PREFIX:
        raise ImproperlyConfigured(f"unknown portal system {system!r}")
    prefix = _PORTAL_PREFIX[system]
    return PortalConfig(
        system=system,
        base_url=_require_url(f"{prefix}_URL"),
        username=_require(f"{prefix}_USERNAME"),
        password=_require(f"{prefix}_PASSWORD"),
        timeouts=_timeouts(),
        token_skew=float(_setting("INTEGRATIONS_TOKEN_SKEW", 30.0)),
    )


def load_payment_config() -> PaymentConfig:
    """The payment platform's settings, checked."""
    account = str(_setting("PAYMENT_BENEFICIARY_ACCOUNT") or "")
    beneficiary = None
    if account:
        beneficiary = BeneficiaryAccount(
            account_number=account,
            bank_code=_require("PAYMENT_BENEFICIARY_BANK"),
            account_name=_require("PAYMENT_BENEFICIARY_NAME"),
        )
    window = int(_setting("PAYMENT_CALLBACK_WINDOW_SECONDS", 600))
    if window <= 0:
        raise ImproperlyConfigured("PAYMENT_CALLBACK_WINDOW_SECONDS must be > 0")
    notify_url = str(_setting("PAYMENT_NOTIFY_URL") or "")
    if notify_url:
        _require_url("PAYMENT_NOTIFY_URL")  # validated; kept as written, slash and all
    return PaymentConfig(
        base_url=_require_url("PAYMENT_PLATFORM_URL"),
        merchant_id=_require("PAYMENT_MERCHANT_ID"),
        secret=_require("PAYMENT_SECRET"),
        beneficiary=beneficiary,
        notify_url=notify_url,
        callback_window=window,
        timeouts=_timeouts(),
    )


def load_inbound_config() -> InboundConfig:
    """The shared secret for inbound calls; without one every inbound call must be refused."""
    window = int(_setting("INBOUND_REPLAY_WINDOW_SECONDS", 300))
    if window <= 0:
        raise ImproperlyConfigured("INBOUND_REPLAY_WINDOW_SECONDS must be > 0")
    return InboundConfig(secret=_require("INBOUND_HMAC_SECRET"), window=window)


def build_session() -> requests.Session:
    """A session with no automatic retries (the outbox relay owns retries) and no env proxies."""
    session = requests.Session()
    # Proxies, .netrc and CA bundles come from settings only, never from the environment.
    session.trust_env = False
    adapter = HTTPAdapter(
        max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
        pool_connections=4,
        pool_maxsize=16,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "mot-cua-integrations/1"})
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeouts: tuple[float, float],
    idempotency_key: str,
    json=None,
    params=None,
    headers: dict | None = None,
) -> requests.Response:
    """One request with explicit timeouts and the idempotency key; network failures are typed."""
    all_headers = {IDEMPOTENCY_HEADER: idempotency_key, **(headers or {})}
    started = time.monotonic()
    try:
        response = session.request(
            method, url, json=json, params=params, headers=all_headers, timeout=timeouts,
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        logger.warning("%s %s key=%s timed out", method, url, idempotency_key)
        raise PortalUnavailable(
            _("Hệ thống bên ngoài không trả lời kịp."), extra={"reason": "timeout"}
        ) from exc
    except requests.RequestException as exc:
        logger.warning("%s %s key=%s failed: %s", method, url, idempotency_key, exc)
        raise PortalUnavailable(
            _("Không kết nối được hệ thống bên ngoài."), extra={"reason": "connection"}
        ) from exc
    logger.debug(
        "%s %s key=%s -> %s in %.0f ms", method, url, idempotency_key, response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return response


def raise_for_status(response: requests.Response) -> None:
    """5xx and 429 are retryable; any other 4xx is a refusal; 3xx is unexpected."""
    status = response.status_code
    if status < 300:
        return
    detail = response_error(response)
    if status >= 500 or status == 429:
        raise PortalUnavailable(extra={"status": status, **detail})
    if status >= 400:
        raise PortalRejected(detail.get("message") or None, status=status, extra=detail)
    raise BadResponse(extra={"status": status})


def response_error(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in ("code", "message") if isinstance(body.get(k), str)}


def response_json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        raise BadResponse(extra={"status": response.status_code}) from exc
    if not isinstance(body, dict):
        raise BadResponse(extra={"status": response.status_code})
    return body

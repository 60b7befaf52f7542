"""HTTP plumbing: typed configuration read from settings in one place, one session per system."""

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

import requests
from urllib3.util.retry import Retry

from .base import NATIONAL, PROVINCIAL, BeneficiaryAccount
from .deadlines import WatchedHTTPAdapter, exchange
from .exceptions import BadResponse, PortalAuthFailed, PortalRejected, PortalUnavailable
from .wire import IDEMPOTENCY_HEADER

logger = logging.getLogger(__name__)

FAKE = "fake"
PORTAL_IMPLEMENTATIONS = {NATIONAL: (FAKE, NATIONAL), PROVINCIAL: (FAKE, PROVINCIAL)}
PAYMENT_IMPLEMENTATIONS = (FAKE, "platform")
_PORTAL_PREFIX = {NATIONAL: "NATIONAL_PORTAL", PROVINCIAL: "PROVINCIAL_PORTAL"}
# No answer of the portals or the platform comes near this; a bigger one is not read.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# Refusal texts from the remote side end up in logs and the admin: kept short.
MAX_DETAIL_CHARS = 500


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
    adapter = WatchedHTTPAdapter(
        max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
        pool_connections=4,
        pool_maxsize=16,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "mot-cua-integrations/1"})
    return session


def _read_body(response: requests.Response) -> None:
    """Read the whole body now, at most MAX_RESPONSE_BYTES (the watchdog bounds the time)."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            response.close()
            raise BadResponse(_("Phản hồi của hệ thống bên ngoài quá lớn."),
                              extra={"status": response.status_code, "reason": "too_large"})
        chunks.append(chunk)
    # What .content, .text and .json() read from now on.
    response._content = b"".join(chunks)


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
    """One request with explicit timeouts and the idempotency key; network failures are typed.

    The whole exchange, body included, ends within connect + read timeout, or sooner inside a
    `deadlines.deadline()` block: a slow drip under the read timeout cannot hold it longer.
    """
    all_headers = {IDEMPOTENCY_HEADER: idempotency_key, **(headers or {})}
    started = time.monotonic()
    with exchange(started + sum(timeouts)) as current:
        left = current.deadline - started
        if left <= 0:
            raise PortalUnavailable(
                _("Đã hết thời gian dành cho lần gửi này."), extra={"reason": "deadline"}
            )
        cut = PortalUnavailable(
            _("Hệ thống bên ngoài trả lời quá chậm."), extra={"reason": "deadline"}
        )
        try:
            response = session.request(
                method, url, json=json, params=params, headers=all_headers,
                timeout=(min(timeouts[0], left), min(timeouts[1], left)),
                allow_redirects=False, stream=True,
            )
            _read_body(response)
        except (requests.RequestException, OSError) as exc:
            if current.expired:
                logger.warning("%s %s key=%s cut at its deadline", method, url, idempotency_key)
                raise cut from exc
            if isinstance(exc, requests.Timeout):
                logger.warning("%s %s key=%s timed out", method, url, idempotency_key)
                raise PortalUnavailable(
                    _("Hệ thống bên ngoài không trả lời kịp."), extra={"reason": "timeout"}
                ) from exc
            logger.warning("%s %s key=%s failed: %s", method, url, idempotency_key, exc)
            raise PortalUnavailable(
                _("Không kết nối được hệ thống bên ngoài."), extra={"reason": "connection"}
            ) from exc
        if current.expired:
            # Cut in the headers, an answer can look complete (and empty): never trust it.
            logger.warning("%s %s key=%s cut at its deadline", method, url, idempotency_key)
            raise cut
    logger.debug(
        "%s %s key=%s -> %s in %.0f ms", method, url, idempotency_key, response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return response


def raise_for_status(response: requests.Response) -> None:
    """Sort an answer that is not 2xx into what the outbox does with it.

    Retried: 5xx, 408 and 429 (PortalUnavailable); 401 and 403, our credentials
    (PortalAuthFailed); a 3xx, or a 4xx that does not say why it refuses (BadResponse, so an
    administrator looks). Final: a 4xx with a readable refusal (PortalRejected).
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = response_error(response)
    if status >= 500 or status in (408, 429):
        raise PortalUnavailable(extra={"status": status, **detail})
    if status in (401, 403):
        raise PortalAuthFailed(status=status, extra=detail)
    if 400 <= status < 500 and detail:
        raise PortalRejected(detail.get("message") or None, status=status, extra=detail)
    raise BadResponse(extra={"status": status})


def response_error(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: body[k][:MAX_DETAIL_CHARS] for k in ("code", "message")
            if isinstance(body.get(k), str) and body[k].strip()}


def response_json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        raise BadResponse(extra={"status": response.status_code}) from exc
    if not isinstance(body, dict):
        raise BadResponse(extra={"status": response.status_code})
    return body

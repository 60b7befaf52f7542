"""Authentication of inbound calls: HMAC-SHA256 over timestamp and body, with a replay window.

The sender puts the Unix time in seconds in `X-Timestamp` and
hex(HMAC-SHA256(secret, timestamp + "." + body)) in `X-Signature`.
"""

import hashlib
import hmac
from datetime import datetime

from .exceptions import BadCallbackSignature, StaleRequest
from .wire import INBOUND_SIGNATURE_HEADER, INBOUND_TIMESTAMP_HEADER

DEFAULT_WINDOW = 300


def _digest(body: bytes, timestamp: str, secret: str) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_inbound(body: bytes, *, secret: str, at: datetime) -> dict[str, str]:
    """The headers a sender adds to authenticate `body` sent at `at`."""
    timestamp = str(int(at.timestamp()))
    return {
        INBOUND_TIMESTAMP_HEADER: timestamp,
        INBOUND_SIGNATURE_HEADER: _digest(body, timestamp, secret),
    }


def verify_inbound(
    body: bytes, timestamp: str, signature: str, *, secret: str, now: datetime,
    window: int = DEFAULT_WINDOW,
) -> datetime:
    """Check the signature in constant time, then the replay window; returns the signing time.

    Raises BadCallbackSignature (a missing or wrong signature) or StaleRequest (signed more
    than `window` seconds before or after `now`); both answer 401.
    """
    if not secret:
        raise BadCallbackSignature(extra={"reason": "no_secret"})
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        raise BadCallbackSignature(extra={"reason": "missing"})
    expected = _digest(body, timestamp, secret).encode()
    if not hmac.compare_digest(signature.strip().lower().encode(), expected):
        raise BadCallbackSignature(extra={"reason": "mismatch"})
    signed_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    if abs((now - signed_at).total_seconds()) > window:
        raise StaleRequest(extra={"reason": "outside_window", "window": window})
    return signed_at

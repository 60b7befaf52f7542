"""What travels on the wire: the date format, header names and the field checksum."""

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WIRE_DATE_FORMAT = "%Y%m%d%H%M%S"  # yyyyMMddHHmmss, Vietnam time

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
INBOUND_TIMESTAMP_HEADER = "X-Timestamp"
INBOUND_SIGNATURE_HEADER = "X-Signature"
CHECKSUM_FIELD = "checksum"


def format_vn(moment: datetime | None) -> str:
    """An aware datetime as `yyyyMMddHHmmss` in Vietnam time; None as an empty string."""
    if moment is None:
        return ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("format_vn needs an aware datetime")
    return moment.astimezone(VN_TZ).strftime(WIRE_DATE_FORMAT)


def parse_vn(value: str | None) -> datetime | None:
    """`yyyyMMddHHmmss` in Vietnam time as an aware datetime; empty as None."""
    if not value:
        return None
    if len(value) != 14 or not value.isdigit():
        raise ValueError(f"not a yyyyMMddHHmmss date: {value!r}")
    return datetime.strptime(value, WIRE_DATE_FORMAT).replace(tzinfo=VN_TZ)


def _canonical(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum_message(fields: Mapping) -> bytes:
    """The signed text: `key=value` pairs sorted by key, joined by `&`, without the checksum."""
    pairs = (f"{k}={_canonical(fields[k])}" for k in sorted(fields) if k != CHECKSUM_FIELD)
    return "&".join(pairs).encode()


def fields_checksum(fields: Mapping, secret: str) -> str:
    """Hex HMAC-SHA256 of the canonical field text."""
    return hmac.new(secret.encode(), checksum_message(fields), hashlib.sha256).hexdigest()


def with_checksum(fields: Mapping, secret: str) -> dict:
    return {**fields, CHECKSUM_FIELD: fields_checksum(fields, secret)}


def checksum_matches(fields: Mapping, secret: str) -> bool:
    """True when the fields carry the right checksum; compared in constant time."""
    given = fields.get(CHECKSUM_FIELD)
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.lower(), fields_checksum(fields, secret))

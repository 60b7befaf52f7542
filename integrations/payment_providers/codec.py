"""The payment platform's signed JSON messages (checksum over the fields), both ways."""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from ..base import PaymentNotification, PaymentStatus, StatusQuery, TransactionStatus
from ..exceptions import BadCallbackSignature, BadResponse, InvalidPayload, StaleRequest
from ..wire import checksum_matches, format_vn, parse_vn, with_checksum

# TrangThai on the wire.
STATUS_CODES = {PaymentStatus.PAID: "00", PaymentStatus.PENDING: "01", PaymentStatus.FAILED: "02"}
STATUS_BY_CODE = {v: k for k, v in STATUS_CODES.items()}


def _field(data: Mapping, key: str, kind=str, *, required: bool = True):
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(key)
        return "" if kind is str else None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(key)
        try:
            return int(value)
        except ValueError as exc:
            raise ValueError(key) from exc
    if kind is datetime:
        try:
            return parse_vn(str(value))
        except ValueError as exc:
            raise ValueError(key) from exc
    if not isinstance(value, str):
        raise ValueError(key)
    return value


def _status(data: Mapping) -> str:
    code = _field(data, "TrangThai")
    if code not in STATUS_BY_CODE:
        raise ValueError("TrangThai")
    return STATUS_BY_CODE[code]


def read_signed(
    body: bytes, *, secret: str, merchant_id: str, now: datetime, window: int
) -> dict:
    """Parse a message from the platform, check merchant and checksum, then the replay window."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(_("Nội dung không phải JSON hợp lệ.")) from exc
    if not isinstance(data, dict):
        raise InvalidPayload(_("Nội dung phải là một đối tượng JSON."))
    # The checksum first: an unsigned message tells us nothing, not even that it is stale.
    if data.get("MaDoiTac") != merchant_id or not checksum_matches(data, secret):
        raise BadCallbackSignature()
    try:
        sent_at = _field(data, "ThoiGian", datetime)
    except ValueError as exc:
        raise InvalidPayload(extra={"field": str(exc)}) from exc
    if abs(now - sent_at) > timedelta(seconds=window):
        raise StaleRequest(extra={"sent_at": format_vn(sent_at)})
    return data


def notification_from(provider: str, data: Mapping) -> PaymentNotification:
    try:
        return PaymentNotification(
            provider=provider, reference=_field(data, "MaGiaoDich"),
            dossier_code=_field(data, "MaHoSo"), amount=_field(data, "SoTien", int),
            status=_status(data),
            paid_at=_field(data, "ThoiGianThanhToan", datetime, required=False),
            sent_at=_field(data, "ThoiGian", datetime),
            bank_transaction_no=_field(data, "MaGiaoDichNganHang", required=False),
        )
    except ValueError as exc:
        raise InvalidPayload(extra={"field": str(exc)}) from exc


def status_query_from(provider: str, data: Mapping) -> StatusQuery:
    try:
        return StatusQuery(
            provider=provider, reference=_field(data, "MaGiaoDich"),
            dossier_code=_field(data, "MaHoSo", required=False),
            sent_at=_field(data, "ThoiGian", datetime),
        )
    except ValueError as exc:
        raise InvalidPayload(extra={"field": str(exc)}) from exc


def status_fields(answer: TransactionStatus, *, merchant_id: str, now: datetime) -> dict:
    return {
        "MaDoiTac": merchant_id, "MaGiaoDich": answer.reference, "MaHoSo": answer.dossier_code,
        "SoTien": answer.amount, "TrangThai": STATUS_CODES[answer.status],
        "ThoiGianThanhToan": format_vn(answer.paid_at),
        "MaGiaoDichNganHang": answer.bank_transaction_no, "ThoiGian": format_vn(now),
    }


def signed_status(
    answer: TransactionStatus, *, merchant_id: str, secret: str, now: datetime
) -> bytes:
    fields = with_checksum(status_fields(answer, merchant_id=merchant_id, now=now), secret)
    return json.dumps(fields, ensure_ascii=False).encode()


def transaction_status_from(provider: str, data: Mapping, *, secret: str) -> TransactionStatus:
    """The platform's answer to our query; an unsigned or malformed answer is a BadResponse."""
    if not checksum_matches(data, secret):
        raise BadResponse(_("Mã kiểm tra của phản hồi không khớp."))
    try:
        return TransactionStatus(
            provider=provider, reference=_field(data, "MaGiaoDich"),
            dossier_code=_field(data, "MaHoSo"), amount=_field(data, "SoTien", int),
            status=_status(data),
            paid_at=_field(data, "ThoiGianThanhToan", datetime, required=False),
            bank_transaction_no=_field(data, "MaGiaoDichNganHang", required=False),
        )
    except ValueError as exc:
        raise BadResponse(extra={"field": str(exc)}) from exc

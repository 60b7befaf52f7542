"""The national payment platform (Nền tảng thanh toán trên Cổng DVC quốc gia)."""

import uuid
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

import requests

from ..base import PaymentBill, PaymentIntent, PaymentNotification, StatusQuery, TransactionStatus
from ..exceptions import BadResponse
from ..http import PaymentConfig, build_session, raise_for_status, response_json, send
from ..wire import checksum_matches, format_vn, with_checksum
from . import codec


class PlatformPaymentProvider:
    """Bills, callbacks and status queries, each signed with HMAC-SHA256 over the fields."""

    identifier = "platform"
    create_path = "/api/giaodich"
    query_path = "/api/giaodich/truyvan"

    def __init__(self, config: PaymentConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or build_session()

    def _post(self, path: str, fields: dict, *, idempotency_key: str) -> dict:
        response = send(
            self.session, "POST", self.config.base_url + path, timeouts=self.config.timeouts,
            idempotency_key=idempotency_key, json=with_checksum(fields, self.config.secret),
        )
        raise_for_status(response)
        return response_json(response)

    def create_transaction(self, bill: PaymentBill, *, idempotency_key: str) -> PaymentIntent:
        """Open a transaction for a dossier's fee; the applicant is sent to `redirect_url`."""
        beneficiary = bill.beneficiary or self.config.beneficiary
        if beneficiary is None:
            raise ImproperlyConfigured("PAYMENT_BENEFICIARY_ACCOUNT is not set")
        fields = {
            "MaDoiTac": self.config.merchant_id, "MaHoSo": bill.dossier_code,
            "MaTTHC": bill.procedure_code, "SoTien": bill.amount, "NoiDung": bill.description,
            "NguoiNop": bill.payer_name,
            "TaiKhoanThuHuong": {
                "SoTaiKhoan": beneficiary.account_number, "MaNganHang": beneficiary.bank_code,
                "TenChuTaiKhoan": beneficiary.account_name,
            },
            "UrlTraVe": bill.return_url, "UrlThongBao": self.config.notify_url,
            "ThoiGian": format_vn(timezone.now()),
        }
        body = self._post(self.create_path, fields, idempotency_key=idempotency_key)
        if not checksum_matches(body, self.config.secret):
            raise BadResponse(_("Mã kiểm tra của phản hồi không khớp."))
        reference, url = body.get("MaGiaoDich"), body.get("UrlThanhToan")
        amount = body.get("SoTien")
        if not isinstance(reference, str) or not reference or not isinstance(url, str) or not url:
            raise BadResponse(extra={"field": "MaGiaoDich"})
        if amount != bill.amount or body.get("MaHoSo") != bill.dossier_code:
            raise BadResponse(_("Giao dịch tạo ra không khớp với hóa đơn."))
        return PaymentIntent(
            provider=self.identifier, reference=reference, redirect_url=url,
            dossier_code=bill.dossier_code, amount=bill.amount,
        )

    def verify_callback(self, body: bytes, *, now: datetime) -> PaymentNotification:
        """A confirmation callback, verified; the caller compares amount and dossier."""
        data = codec.read_signed(
            body, secret=self.config.secret, merchant_id=self.config.merchant_id, now=now,
            window=self.config.callback_window,
        )
        return codec.notification_from(self.identifier, data)

    def parse_status_query(self, body: bytes, *, now: datetime) -> StatusQuery:
        """The platform asking us about a transaction, verified."""
        data = codec.read_signed(
            body, secret=self.config.secret, merchant_id=self.config.merchant_id, now=now,
            window=self.config.callback_window,
        )
        return codec.status_query_from(self.identifier, data)

    def answer_status_query(self, answer: TransactionStatus, *, now: datetime) -> bytes:
        """Our signed answer to the platform's status query (the response body)."""
        return codec.signed_status(
            answer, merchant_id=self.config.merchant_id, secret=self.config.secret, now=now
        )

    def query_transaction(
        self, reference: str, *, idempotency_key: str | None = None
    ) -> TransactionStatus:
        """Ask the platform for a transaction's status (reconciliation)."""
        fields = {
            "MaDoiTac": self.config.merchant_id, "MaGiaoDich": reference,
            "ThoiGian": format_vn(timezone.now()),
        }
        body = self._post(
            self.query_path, fields, idempotency_key=idempotency_key or str(uuid.uuid4())
        )
        return codec.transaction_status_from(self.identifier, body, secret=self.config.secret)

"""A simulated payment platform: bills, a pay page, signed callbacks and status queries."""

import html
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from ..wire import checksum_matches, format_vn, with_checksum
from .common import Reply, Request, error, post_json, require_loopback

PAID, PENDING, FAILED = "00", "01", "02"
CALLBACK_MODES = ("normal", "duplicate", "out_of_order", "never")


@dataclass
class Transaction:
    reference: str
    merchant_id: str
    dossier_code: str
    procedure_code: str
    amount: int  # billed
    notify_url: str
    return_url: str
    beneficiary: dict = field(default_factory=dict)
    status: str = PENDING
    paid_amount: int | None = None
    paid_at: datetime | None = None
    bank_no: str = ""


@dataclass(frozen=True)
class CallbackRecord:
    reference: str
    status: str
    answer_status: int  # 0 when nothing answered
    fields: dict = field(hash=False)


class SimulatedPaymentPlatform:
    def __init__(self, *, merchants: dict[str, str], callback_url: str = "") -> None:
        self.merchants = dict(merchants)
        self.callback_url = require_loopback(callback_url) if callback_url else ""
        self.callback_mode = "normal"
        self.base_url = ""  # set by the server once it knows its port
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.transactions: dict[str, Transaction] = {}
            self.callbacks: list[CallbackRecord] = []
            self.queries_answered = 0
            self.callback_mode = "normal"

    def set_callback_mode(self, mode: str) -> None:
        if mode not in CALLBACK_MODES:
            raise ValueError(f"callback mode must be one of {CALLBACK_MODES}")
        self.callback_mode = mode

    # --- protocol ----------------------------------------------------------------------------

    def is_write(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/api/giaodich"

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/pay/"):
            return self._pay_page(request, request.path.removeprefix("/pay/"))
        if request.method != "POST":
            return error(404, "not_found")
        body = request.json()
        if not isinstance(body, dict):
            return error(400, "invalid_json")
        secret = self.merchants.get(body.get("MaDoiTac", ""))
        if secret is None or not checksum_matches(body, secret):
            return error(401, "bad_checksum", "Mã kiểm tra không hợp lệ.")
        if request.path == "/api/giaodich":
            return self._create(body, secret)
        if request.path == "/api/giaodich/truyvan":
            return self._query(body, secret)
        return error(404, "not_found")

    def _create(self, body: dict, secret: str) -> Reply:
        amount, account = body.get("SoTien"), body.get("TaiKhoanThuHuong")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return error(400, "invalid_amount", field="SoTien")
        for key in ("MaHoSo", "MaTTHC"):
            if not isinstance(body.get(key), str) or not body[key]:
                return error(400, "missing_field", field=key)
        if not isinstance(account, dict) or not all(
            account.get(k) for k in ("SoTaiKhoan", "MaNganHang", "TenChuTaiKhoan")
        ):
            return error(400, "missing_field", field="TaiKhoanThuHuong")
        notify_url = body.get("UrlThongBao") or self.callback_url
        if notify_url:
            try:
                require_loopback(notify_url)
            except ValueError:
                return error(400, "invalid_field", field="UrlThongBao")
        reference = f"PG{uuid.uuid4().hex[:14].upper()}"
        with self._lock:
            self.transactions[reference] = Transaction(
                reference=reference, merchant_id=body["MaDoiTac"], dossier_code=body["MaHoSo"],
                procedure_code=body["MaTTHC"], amount=amount, notify_url=notify_url,
                return_url=str(body.get("UrlTraVe") or ""), beneficiary=dict(account),
            )
        answer = {
            "MaDoiTac": body["MaDoiTac"], "MaGiaoDich": reference, "MaHoSo": body["MaHoSo"],
            "SoTien": amount, "UrlThanhToan": f"{self.base_url}/pay/{reference}",
            "ThoiGian": format_vn(timezone.now()),
        }
        return Reply(200, with_checksum(answer, secret))

    def _status_fields(self, tx: Transaction, *, status: str | None = None,
                       at: datetime | None = None) -> dict:
        status = status or tx.status
        return {
            "MaDoiTac": tx.merchant_id, "MaGiaoDich": tx.reference, "MaHoSo": tx.dossier_code,
            "SoTien": tx.paid_amount if tx.paid_amount is not None else tx.amount,
            "TrangThai": status,
            "ThoiGianThanhToan": format_vn(tx.paid_at) if status == PAID else "",
            "MaGiaoDichNganHang": tx.bank_no if status == PAID else "",
            "ThoiGian": format_vn(at or timezone.now()),
        }

    def _query(self, body: dict, secret: str) -> Reply:
        with self._lock:
            tx = self.transactions.get(body.get("MaGiaoDich", ""))
            if tx is None or tx.merchant_id != body["MaDoiTac"]:
                return error(404, "transaction_unknown")
            self.queries_answered += 1
            return Reply(200, with_checksum(self._status_fields(tx), secret))

    def _pay_page(self, request: Request, reference: str) -> Reply:
        tx = self.transactions.get(reference)
        if tx is None:
            return error(404, "transaction_unknown")
        if request.method == "POST":
            self.pay(reference)
            target = tx.return_url or f"{self.base_url}/pay/{reference}"
            return Reply(303, b"", {"Location": target}, "text/plain")
        page = (
            "<!doctype html><meta charset=utf-8><title>Thanh toán</title>"
            f"<h1>Thanh toán hồ sơ {html.escape(tx.dossier_code)}</h1>"
            f"<p>Số tiền: {tx.amount:,} đồng. Trạng thái: {tx.status}</p>"
            f"<form method=post><button>Thanh toán</button></form>"
        )
        return Reply(200, page.encode(), {}, "text/html; charset=utf-8")

    # --- the applicant pays; callbacks ------------------------------------------------------

    def pay(
        self, reference: str, *, status: str = PAID, amount: int | None = None
    ) -> list[CallbackRecord]:
        """Settle a transaction and send its callback(s) as the callback mode says."""
        if status not in (PAID, FAILED):
            raise ValueError("status must be paid (00) or failed (02)")
        now = timezone.now()
        with self._lock:
            tx = self.transactions[reference]
            tx.status = status
            tx.paid_amount = amount
            tx.paid_at = now if status == PAID else None
            tx.bank_no = f"FT{uuid.uuid4().hex[:10].upper()}" if status == PAID else ""
            mode = self.callback_mode
            final = self._status_fields(tx, at=now)
            earlier = self._status_fields(tx, status=PENDING, at=now - timedelta(seconds=30))
        plan = {"normal": [final], "duplicate": [final, final], "never": [],
                "out_of_order": [final, earlier]}[mode]
        return [self.send_callback(tx, fields) for fields in plan]

    def send_callback(self, tx: Transaction, fields: dict) -> CallbackRecord:
        signed = with_checksum(fields, self.merchants[tx.merchant_id])
        answer_status = 0
        if tx.notify_url:
            answer_status, _text = post_json(
                tx.notify_url, json.dumps(signed, ensure_ascii=False).encode(), {}
            )
        record = CallbackRecord(tx.reference, fields["TrangThai"], answer_status, signed)
        with self._lock:
            self.callbacks.append(record)
        return record

    def query_merchant(self, reference: str, url: str) -> tuple[int, dict | None, bool]:
        """Ask the merchant about a transaction; returns (status, answer, checksum valid)."""
        tx = self.transactions[reference]
        secret = self.merchants[tx.merchant_id]
        fields = with_checksum({
            "MaDoiTac": tx.merchant_id, "MaGiaoDich": reference, "MaHoSo": tx.dossier_code,
            "ThoiGian": format_vn(timezone.now()),
        }, secret)
        status, text = post_json(url, json.dumps(fields).encode(), {})
        try:
            answer = json.loads(text)
        except ValueError:
            return status, None, False
        valid = isinstance(answer, dict) and checksum_matches(answer, secret)
        return status, answer if isinstance(answer, dict) else None, valid

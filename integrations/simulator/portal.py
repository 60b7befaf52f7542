"""A simulated public-service portal: login, pushes, lookup, catalog, and inbound dossiers."""

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..inbound import sign_inbound
from ..scores import sample_scores, scores_payload
from ..wire import IDEMPOTENCY_HEADER, format_vn, parse_vn
from .common import Reply, Request, error, post_json

STATUS_CODES = {str(n) for n in range(1, 11)}
PROGRESS_PATH = re.compile(r"^/api/hoso/(?P<code>[^/]+)/tiendo$")
LOOKUP_PATH = re.compile(r"^/api/hoso/(?P<code>[^/]+)$")
SCORES_PATH = re.compile(r"^/api/chiso/(?P<agency>[^/]+)$")
DEFAULT_CATALOG = (
    {"MaTTHC": "2.000648", "TenTTHC": "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu",
     "LinhVuc": "Lưu thông hàng hóa trong nước", "CoQuanThucHien": "Sở Công Thương",
     "ThoiHanGiaiQuyet": "20", "MucDo": "mot_phan", "LePhi": 1200000},
    {"MaTTHC": "2.000004", "TenTTHC": "Đăng ký hoạt động khuyến mại",
     "LinhVuc": "Xúc tiến thương mại", "CoQuanThucHien": "Sở Công Thương",
     "ThoiHanGiaiQuyet": "5", "MucDo": "toan_trinh", "LePhi": 0},
    {"MaTTHC": "1.000948", "TenTTHC": "Cấp lại Giấy phép chế biến nguyên liệu thuốc lá",
     "LinhVuc": "Công nghiệp tiêu dùng", "CoQuanThucHien": "Sở Công Thương",
     "ThoiHanGiaiQuyet": "15", "MucDo": "mot_phan", "LePhi": 1100000},
)


@dataclass(frozen=True)
class Delivery:
    """One message the portal accepted and counted (a replayed key is not a delivery)."""

    kind: str  # dossier | progress
    code: str
    status_code: str
    at: str  # ThoiDiemXuLy: when the change happened
    idempotency_key: str
    payload: dict


# What every record must fill in (the portal refuses a record with any of them empty).
HANDLER_FIELDS = ("NguoiXuLy", "ChucDanh", "PhongBanXuLy")
STEP_FIELDS = ("NgayBatDau", "NgayKetThucTheoQuyDinh")
DOSSIER_FIELDS = ("TrichYeuHoSo", "MaDonViXuLy", "DonViXuLy", "ChuHoSo", *HANDLER_FIELDS)
PROGRESS_FIELDS = ("DonViXuLy", *HANDLER_FIELDS, *STEP_FIELDS)


def _empty(body: dict, keys) -> str | None:
    for key in keys:
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            return key
    return None


def _bad_fees(fees) -> bool:
    if not isinstance(fees, list):
        return True
    return any(
        not isinstance(f, dict) or not isinstance(f.get("TenPhiLePhi"), str)
        or not f["TenPhiLePhi"].strip() or not isinstance(f.get("MucPhi"), int)
        or isinstance(f.get("MucPhi"), bool) or f["MucPhi"] < 0
        for f in fees
    )


def _incomplete_dossier(body: dict) -> Reply | None:
    """A dossier record with a field the portal needs left empty: its summary, the handling
    unit, the handler, a way to reach the applicant (an email or a phone number), the fee
    list (empty for a free procedure, each item named and priced), and once received, the
    current step's start and legal end."""
    required = list(DOSSIER_FIELDS)
    if body.get("NgayTiepNhan"):
        required += STEP_FIELDS
    if field := _empty(body, required):
        return _missing(field)
    if _empty(body, ("Email",)) and _empty(body, ("SoDienThoai",)):
        return _missing("SoDienThoai")
    if "DanhSachLePhi" not in body or _bad_fees(body["DanhSachLePhi"]):
        return error(400, "invalid_field", "Trường DanhSachLePhi không hợp lệ.",
                     field="DanhSachLePhi")
    return None


def _missing(field: str) -> Reply:
    return error(400, "missing_field", f"Thiếu trường {field}.", field=field)


def _bad_date(body: dict, *keys: str) -> str | None:
    for key in keys:
        value = body.get(key) or ""
        try:
            parse_vn(value)
        except (ValueError, TypeError):
            return key
    return None


class SimulatedPortal:
    """The national or the provincial portal; state is in memory and thread-safe."""

    def __init__(
        self, system: str, *, username: str, password: str, token_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic, require_complete: bool = True,
    ) -> None:
        self.system = system
        self.username = username
        self.password = password
        self.token_ttl = token_ttl
        # The portal refuses records with empty fields (handler, step dates, contact...).
        self.require_complete = require_complete
        self.catalog: list[dict] = [dict(item) for item in DEFAULT_CATALOG]
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tokens: dict[str, float] = {}
            self._dossiers: dict[str, dict] = {}
            self._deliveries: dict[str, list[Delivery]] = {}
            self.logins = 0
            self.inbound_sent: list[tuple[int, str]] = []
            self.published: dict[tuple[str, str, str], dict[str, float]] = {}

    # --- controls and observations -----------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def publish_scores(self, agency: str, date_from, date_to, scores: dict[str, float]) -> None:
        """Publish these scores for the agency and period instead of the sample ones."""
        with self._lock:
            self.published[(agency, str(date_from), str(date_to))] = dict(scores)

    def deliveries(self, code: str) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries.get(code, ()))

    def delivery_count(self) -> int:
        with self._lock:
            return sum(len(items) for items in self._deliveries.values())

    def dossier_codes(self) -> list[str]:
        with self._lock:
            return list(self._deliveries)

    def send_inbound_dossier(
        self, url: str, *, secret: str, payload: dict | None = None,
        idempotency_key: str | None = None, at: datetime | None = None,
    ) -> tuple[int, str]:
        """Forward a dossier submitted on this portal to our inbound endpoint, signed."""
        body = json.dumps(payload or sample_inbound_dossier(), ensure_ascii=False).encode()
        headers = sign_inbound(body, secret=secret, at=at or timezone.now())
        headers[IDEMPOTENCY_HEADER] = idempotency_key or str(uuid.uuid4())
        answer = post_json(url, body, headers)
        with self._lock:
            self.inbound_sent.append(answer)
        return answer

    # --- protocol ----------------------------------------------------------------------------

    def is_write(self, request: Request) -> bool:
        return request.method == "POST" and request.path != "/api/auth/login"

    def handle(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == "/api/auth/login":
            return self._login(request)
        if not self._authorised(request):
            return error(401, "token_invalid", "Phiên làm việc không hợp lệ hoặc đã hết hạn.")
        if request.method == "POST" and request.path == "/api/hoso":
            return self._push_dossier(request)
        if request.method == "POST" and (match := PROGRESS_PATH.match(request.path)):
            return self._push_progress(request, match["code"])
        if request.method == "GET" and request.path == "/api/tthc":
            return self._catalog(request)
        if request.method == "GET" and (match := LOOKUP_PATH.match(request.path)):
            return self._lookup(match["code"])
        if request.method == "GET" and (match := SCORES_PATH.match(request.path)):
            return self._scores(request, match["agency"])
        return error(404, "not_found")

    def _login(self, request: Request) -> Reply:
        body = request.json()
        if (
            not isinstance(body, dict) or body.get("username") != self.username
            or not secrets.compare_digest(str(body.get("password", "")), self.password)
        ):
            return error(401, "bad_credentials")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = self._clock() + self.token_ttl
            self.logins += 1
        return Reply(200, {"access_token": token, "token_type": "Bearer",
                           "expires_in": self.token_ttl})

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.header("Authorization").partition(" ")
        with self._lock:
            return scheme == "Bearer" and self._tokens.get(token, 0.0) > self._clock()

    def _receipt(self, code: str) -> dict:
        return {"MaHoSo": code, "MaTiepNhan": f"{self.system.upper()}-{uuid.uuid4().hex[:12]}",
                "ThoiDiemNhan": format_vn(timezone.now())}

    def _push_dossier(self, request: Request) -> Reply:
        body = request.json()
        if not isinstance(body, dict):
            return error(400, "invalid_json")
        for key in ("MaHoSo", "MaTTHC", "TrangThaiHoSo"):
            if not isinstance(body.get(key), str) or not body[key]:
                return error(400, "missing_field", field=key)
        if body["TrangThaiHoSo"] not in STATUS_CODES:
            return error(400, "invalid_status", field="TrangThaiHoSo")
        # Every change carries its time; a received dossier, its reception and appointment.
        required = ["ThoiDiemXuLy"] + (
            ["NgayTiepNhan", "NgayHenTra"] if body["TrangThaiHoSo"] == "2" else [])
        for key in required:
            if not body.get(key):
                return error(400, "missing_field", field=key)
        if field := _bad_date(body, "ThoiDiemXuLy", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra",
                              "NgayKetThucXuLy", "NgayTra", "NgayBatDau",
                              "NgayKetThucTheoQuyDinh", "NgayHenTraMoi"):
            return error(400, "invalid_date", field=field)
        if self.require_complete and (refusal := _incomplete_dossier(body)):
            return refusal
        if not isinstance(body.get("TaiLieuNop", []), list):
            return error(400, "invalid_field", field="TaiLieuNop")
        code = body["MaHoSo"]
        with self._lock:
            self._dossiers[code] = {**body, "SoLanCapNhat": 0}
            self._deliveries.setdefault(code, []).append(Delivery(
                "dossier", code, body["TrangThaiHoSo"], body["ThoiDiemXuLy"],
                request.header(IDEMPOTENCY_HEADER), body,
            ))
        return Reply(200, self._receipt(code))

    def _push_progress(self, request: Request, code: str) -> Reply:
        body = request.json()
        if not isinstance(body, dict):
            return error(400, "invalid_json")
        if body.get("MaHoSo") != code:
            return error(400, "code_mismatch", field="MaHoSo")
        if body.get("TrangThai") not in STATUS_CODES:
            return error(400, "invalid_status", field="TrangThai")
        if not body.get("ThoiDiemXuLy"):
            return error(400, "missing_field", field="ThoiDiemXuLy")
        if field := _bad_date(
            body, "ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh", "NgayHenTra",
            "NgayHenTraMoi",
        ):
            return error(400, "invalid_date", field=field)
        if self.require_complete and (field := _empty(body, PROGRESS_FIELDS)):
            return _missing(field)
        with self._lock:
            dossier = self._dossiers.get(code)
            if dossier is None:
                return error(404, "dossier_unknown", "Hồ sơ chưa được đồng bộ.")
            dossier["TrangThaiHoSo"] = body["TrangThai"]
            dossier["SoLanCapNhat"] += 1
            if body.get("NgayHenTra"):
                dossier["NgayHenTra"] = body["NgayHenTra"]
            self._deliveries[code].append(Delivery(
                "progress", code, body["TrangThai"], body["ThoiDiemXuLy"],
                request.header(IDEMPOTENCY_HEADER), body,
            ))
            sequence = dossier["SoLanCapNhat"]
        return Reply(200, {**self._receipt(code), "SoThuTu": sequence})

    def _lookup(self, code: str) -> Reply:
        with self._lock:
            dossier = self._dossiers.get(code)
            if dossier is None:
                return error(404, "dossier_unknown")
            fields = ("MaHoSo", "MaTTHC", "TrangThaiHoSo", "NgayTiepNhan", "NgayHenTra",
                      "SoLanCapNhat")
            return Reply(200, {key: dossier.get(key, "") for key in fields})

    def _scores(self, request: Request, agency: str) -> Reply:
        """The agency's published service-quality scores for a period (deterministic)."""
        from datetime import date

        try:
            date_from = date.fromisoformat(request.query.get("tuNgay", ""))
            date_to = date.fromisoformat(request.query.get("denNgay", ""))
        except ValueError:
            return error(400, "invalid_period")
        if date_from > date_to:
            return error(400, "invalid_period")
        with self._lock:
            scores = self.published.get((agency, str(date_from), str(date_to)))
        if scores is None:
            scores = sample_scores(agency, date_from, date_to)
        return Reply(200, scores_payload(agency, date_from, date_to, scores))

    def _catalog(self, request: Request) -> Reply:
        try:
            page = int(request.query.get("trang", "1"))
            size = int(request.query.get("soBanGhi", "50"))
        except ValueError:
            return error(400, "invalid_paging")
        if page < 1 or not 1 <= size <= 500:
            return error(400, "invalid_paging")
        with self._lock:
            items = self.catalog[(page - 1) * size: page * size]
            more = page * size < len(self.catalog)
            total = len(self.catalog)
        return Reply(200, {"DanhSach": items, "TongSo": total,
                           "TrangTiepTheo": page + 1 if more else None})


def sample_inbound_dossier(code: str | None = None, procedure_code: str = "2.000004") -> dict:
    """A dossier as a remote portal forwards it after an applicant submitted it there."""
    return {
        "MaHoSo": code or f"G22.{uuid.uuid4().hex[:10].upper()}",
        "MaTTHC": procedure_code,
        "NgayNopHoSo": format_vn(timezone.now()),
        "ChuHoSo": "Công ty TNHH Thương mại Minh An",
        "SoGiayToChuHoSo": "3200123456",
        "Email": "lienhe@minhan.example.vn",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký chương trình khuyến mại tháng 3",
        "DuLieuBieuMau": {"ten_chuong_trinh": "Mừng xuân", "thoi_gian": "01/03 - 31/03"},
        "TaiLieuNop": [
            {"MaThanhPhanHoSo": "don", "TepDinhKemId": "F1", "TenTepDinhKem": "don.pdf",
             "DuongDanTaiTepTin": "", "MaHash": ""},
        ],
    }

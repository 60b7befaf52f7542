"""The contracts: adapter Protocols and the frozen dataclasses they take and return.

Attribute names are English; each comment names the field on the wire (DESIGN §7). Dates are
aware datetimes here and `yyyyMMddHHmmss` in Vietnam time on the wire (see `wire.py`).
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .wire import format_vn, parse_vn  # noqa: F401  (re-exported: the date helpers)

if TYPE_CHECKING:
    from .scores import PublishedScorecard

NATIONAL = "national"
PROVINCIAL = "provincial"
SYSTEMS = (NATIONAL, PROVINCIAL)


class PaymentStatus:
    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"


# --- portals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRef:
    """One submitted file (an item of `TaiLieuNop`)."""

    component_code: str  # MaThanhPhanHoSo
    file_id: str  # TepDinhKemId
    name: str  # TenTepDinhKem
    url: str = ""  # DuongDanTaiTepTin
    sha256: str = ""  # MaHash


@dataclass(frozen=True)
class ResultRef:
    """One issued result document (an item of `DanhSachGiayToKetQua`)."""

    file_id: str  # GiayToId
    name: str  # TenGiayTo
    url: str = ""  # DuongDanTepTinKetQua
    sha256: str = ""  # MaHash


@dataclass(frozen=True)
class Fee:
    """One fee or charge (an item of `DanhSachLePhi`)."""

    name: str  # TenPhiLePhi
    amount: int  # MucPhi, in dong
    kind: str = "fee"  # LoaiPhiLePhi: fee | charge


@dataclass(frozen=True)
class DossierSnapshot:
    """A dossier as the portals see it; `state` and `procedure_code` are ours, mapped on send."""

    code: str  # MaHoSo: the code the portals know the dossier by
    procedure_code: str  # MaTTHC (after mapping to the remote code)
    procedure_name: str  # TenTTHC
    state: str  # TrangThaiHoSo (after mapping to the 1..10 code)
    applicant_name: str  # ChuHoSo
    at: datetime | None = None  # ThoiDiemXuLy: when the change that led to `state` happened
    submitted_at: datetime | None = None  # NgayNopHoSo
    received_at: datetime | None = None  # NgayTiepNhan
    due_at: datetime | None = None  # NgayHenTra
    completed_at: datetime | None = None  # NgayKetThucXuLy
    returned_at: datetime | None = None  # NgayTra
    transition: str = ""  # the transition that led to `state`; refines the mapping
    channel: str = "online"  # KenhThucHien: online | counter | post | national_portal | ...
    applicant_id: str = ""  # SoGiayToChuHoSo: citizen ID or tax code
    applicant_email: str = ""  # Email
    applicant_phone: str = ""  # SoDienThoai
    agency_code: str = ""  # MaDonViXuLy
    agency_name: str = ""  # DonViXuLy
    summary: str = ""  # TrichYeuHoSo
    note: str = ""  # NoiDungXuLy: the reason given with the change (a refusal, a return)
    handler_name: str = ""  # NguoiXuLy: who made the change, or who holds the dossier now
    handler_title: str = ""  # ChucDanh
    department: str = ""  # PhongBanXuLy: the handler's unit (the agency while units are absent)
    step_started_at: datetime | None = None  # NgayBatDau: the current step's start
    step_due_at: datetime | None = None  # NgayKetThucTheoQuyDinh: its legal end
    new_appointment_at: datetime | None = None  # NgayHenTraMoi: set by an approved apology
    documents: tuple[DocumentRef, ...] = ()  # TaiLieuNop
    results: tuple[ResultRef, ...] = ()  # DanhSachGiayToKetQua
    fees: tuple[Fee, ...] = ()  # DanhSachLePhi


@dataclass(frozen=True)
class ProgressUpdate:
    """One state change of a dossier already pushed."""

    dossier_code: str  # MaHoSo
    state: str  # TrangThai (after mapping)
    at: datetime  # ThoiDiemXuLy
    transition: str = ""
    handler_name: str = ""  # NguoiXuLy
    handler_title: str = ""  # ChucDanh
    department: str = ""  # PhongBanXuLy
    note: str = ""  # NoiDungXuLy
    step_started_at: datetime | None = None  # NgayBatDau
    step_due_at: datetime | None = None  # NgayKetThucTheoQuyDinh
    due_at: datetime | None = None  # NgayHenTra (moves on pause and resume)
    new_appointment_at: datetime | None = None  # NgayHenTraMoi: set by an approved apology
    agency_name: str = ""  # DonViXuLy
    results: tuple[ResultRef, ...] = ()  # DanhSachGiayToKetQua


@dataclass(frozen=True)
class PortalReceipt:
    system: str
    dossier_code: str
    reference: str  # MaTiepNhan: the remote system's id of what it stored
    accepted_at: datetime | None  # ThoiDiemNhan
    replayed: bool = False  # the remote answered a repeat of an idempotency key


@dataclass(frozen=True)
class RemoteDossier:
    """A dossier as the remote system holds it (lookup)."""

    system: str
    code: str  # MaHoSo
    procedure_code: str  # MaTTHC, the remote code
    status_code: int  # TrangThaiHoSo, 1..10
    received_at: datetime | None  # NgayTiepNhan
    due_at: datetime | None  # NgayHenTra
    progress_count: int  # SoLanCapNhat


@dataclass(frozen=True)
class CatalogEntry:
    """One procedure of the remote catalog (CSDLQG về TTHC)."""

    remote_code: str  # MaTTHC
    local_code: str  # our code, through the procedure mapping (the same when unmapped)
    name: str  # TenTTHC
    sector: str = ""  # LinhVuc
    agency_name: str = ""  # CoQuanThucHien
    processing_days: str = ""  # ThoiHanGiaiQuyet, as published (a decimal string)
    online_level: str = ""  # MucDo: full | partial | ""
    fee_vnd: int | None = None  # LePhi


@dataclass(frozen=True)
class InboundDossier:
    """A dossier submitted on a remote portal, to be filed here with channel `<system>_portal`."""

    system: str
    remote_code: str  # MaHoSo on the remote portal
    procedure_code: str  # our code, through the procedure mapping
    remote_procedure_code: str  # MaTTHC
    submitted_at: datetime  # NgayNopHoSo
    applicant_name: str  # ChuHoSo
    applicant_id: str = ""  # SoGiayToChuHoSo
    applicant_email: str = ""  # Email
    applicant_phone: str = ""  # SoDienThoai
    summary: str = ""  # TrichYeuHoSo
    form_data: dict = field(default_factory=dict)  # DuLieuBieuMau (treat as read-only)
    documents: tuple[DocumentRef, ...] = ()  # TaiLieuNop

    @property
    def channel(self) -> str:
        return f"{self.system}_portal"


@runtime_checkable
class PortalAdapter(Protocol):
    """A public-service portal: the national one (DVCQG) or the provincial one."""

    identifier: str  # which implementation: national | provincial | fake
    system: str  # which remote system it speaks to: national | provincial

    def push_dossier(self, dossier: DossierSnapshot, *, idempotency_key: str) -> PortalReceipt: ...

    def push_progress(self, update: ProgressUpdate, *, idempotency_key: str) -> PortalReceipt: ...

    def lookup_dossier(
        self, code: str, *, idempotency_key: str | None = None
    ) -> RemoteDossier | None: ...

    def pull_catalog(self, *, idempotency_key: str | None = None) -> tuple[CatalogEntry, ...]: ...

    def parse_inbound_dossier(self, body: bytes) -> InboundDossier: ...

    def pull_scorecard(
        self, agency_code: str, date_from: date, date_to: date, *,
        idempotency_key: str | None = None,
    ) -> "PublishedScorecard":
        """The agency's service-quality scores (Decision 766) the portal published."""
        ...


# --- payments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BeneficiaryAccount:
    account_number: str  # SoTaiKhoan
    bank_code: str  # MaNganHang
    account_name: str  # TenChuTaiKhoan


@dataclass(frozen=True)
class PaymentBill:
    """What we ask the applicant to pay: the fee of one dossier."""

    dossier_code: str  # MaHoSo
    procedure_code: str  # MaTTHC
    amount: int  # SoTien, in dong
    description: str = ""  # NoiDung
    payer_name: str = ""  # NguoiNop
    beneficiary: BeneficiaryAccount | None = None  # TaiKhoanThuHuong; None: the configured one
    return_url: str = ""  # UrlTraVe: where the browser comes back (never proof of payment)


@dataclass(frozen=True)
class PaymentIntent:
    provider: str
    reference: str  # MaGiaoDich
    redirect_url: str  # UrlThanhToan
    dossier_code: str
    amount: int


@dataclass(frozen=True)
class PaymentNotification:
    """A verified confirmation callback; the caller still compares amount and dossier."""

    provider: str
    reference: str  # MaGiaoDich
    dossier_code: str  # MaHoSo
    amount: int  # SoTien
    status: str  # PaymentStatus: paid | pending | failed
    paid_at: datetime | None  # ThoiGianThanhToan
    sent_at: datetime  # ThoiGian: when the platform signed it
    bank_transaction_no: str = ""  # MaGiaoDichNganHang

    def mismatches(self, *, amount: int, dossier_code: str) -> tuple[str, ...]:
        """Names of the fields that differ from what we billed; empty when all agree."""
        wrong = []
        if self.amount != amount:
            wrong.append("amount")
        if self.dossier_code != dossier_code:
            wrong.append("dossier_code")
        return tuple(wrong)


@dataclass(frozen=True)
class TransactionStatus:
    """A transaction's status: the platform's answer to our query, or ours to the platform's."""

    provider: str
    reference: str  # MaGiaoDich
    dossier_code: str  # MaHoSo
    amount: int  # SoTien
    status: str  # PaymentStatus
    paid_at: datetime | None = None  # ThoiGianThanhToan
    bank_transaction_no: str = ""  # MaGiaoDichNganHang


@dataclass(frozen=True)
class StatusQuery:
    """The platform asking us about a transaction."""

    provider: str
    reference: str  # MaGiaoDich
    dossier_code: str  # MaHoSo
    sent_at: datetime  # ThoiGian


@runtime_checkable
class PaymentProvider(Protocol):
    """An online payment platform."""

    identifier: str

    def create_transaction(self, bill: PaymentBill, *, idempotency_key: str) -> PaymentIntent: ...

    def verify_callback(self, body: bytes, *, now: datetime) -> PaymentNotification: ...

    def parse_status_query(self, body: bytes, *, now: datetime) -> StatusQuery: ...

    def answer_status_query(self, answer: TransactionStatus, *, now: datetime) -> bytes: ...

    def query_transaction(
        self, reference: str, *, idempotency_key: str | None = None
    ) -> TransactionStatus: ...

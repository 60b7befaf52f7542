"""The portal protocol's JSON shapes (DESIGN §7 field names), both ways."""

import json
from collections.abc import Mapping
from typing import Protocol

from django.utils.translation import gettext as _

from ..base import (
    CatalogEntry,
    DocumentRef,
    DossierSnapshot,
    InboundDossier,
    PortalReceipt,
    ProgressUpdate,
    RemoteDossier,
    ResultRef,
)
from ..exceptions import BadResponse, InvalidPayload
from ..wire import format_vn, parse_vn

# KenhThucHien: 1 at the counter, 2 online, 3 by public post.
CHANNEL_CODES = {
    "counter": "1", "online": "2", "national_portal": "2", "provincial_portal": "2", "post": "3",
}
ONLINE_LEVELS = {"toan_trinh": "full", "mot_phan": "partial"}


class CodeBook(Protocol):
    def status_code(self, state: str, transition: str = "") -> int: ...

    def remote_procedure(self, code: str) -> str: ...

    def local_procedure(self, remote_code: str) -> str: ...


def _documents(items: tuple[DocumentRef, ...]) -> list[dict]:
    return [
        {
            "MaThanhPhanHoSo": d.component_code, "TepDinhKemId": d.file_id,
            "TenTepDinhKem": d.name, "DuongDanTaiTepTin": d.url, "MaHash": d.sha256,
        }
        for d in items
    ]


def _results(items: tuple[ResultRef, ...]) -> list[dict]:
    return [
        {"GiayToId": r.file_id, "TenGiayTo": r.name, "DuongDanTepTinKetQua": r.url,
         "MaHash": r.sha256}
        for r in items
    ]


def dossier_payload(dossier: DossierSnapshot, codes: CodeBook) -> dict:
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": codes.remote_procedure(dossier.procedure_code),
        "TenTTHC": dossier.procedure_name,
        "TrangThaiHoSo": str(codes.status_code(dossier.state, dossier.transition)),
        "ThoiDiemXuLy": format_vn(dossier.at),
        "NgayNopHoSo": format_vn(dossier.submitted_at),
        "NgayTiepNhan": format_vn(dossier.received_at),
        "NgayHenTra": format_vn(dossier.due_at),
        "NgayKetThucXuLy": format_vn(dossier.completed_at),
        "NgayTra": format_vn(dossier.returned_at),
        "KenhThucHien": CHANNEL_CODES.get(dossier.channel, "2"),
        "ChuHoSo": dossier.applicant_name,
        "SoGiayToChuHoSo": dossier.applicant_id,
        "Email": dossier.applicant_email,
        "SoDienThoai": dossier.applicant_phone,
        "MaDonViXuLy": dossier.agency_code,
        "DonViXuLy": dossier.agency_name,
        "TrichYeuHoSo": dossier.summary,
        "NoiDungXuLy": dossier.note,
        "NguoiXuLy": dossier.handler_name,
        "ChucDanh": dossier.handler_title,
        "PhongBanXuLy": dossier.department,
        "NgayBatDau": format_vn(dossier.step_started_at),
        "NgayKetThucTheoQuyDinh": format_vn(dossier.step_due_at),
        "NgayHenTraMoi": format_vn(dossier.new_appointment_at),
        "TaiLieuNop": _documents(dossier.documents),
        "DanhSachGiayToKetQua": _results(dossier.results),
        "DanhSachLePhi": [
            {"TenPhiLePhi": f.name, "MucPhi": f.amount, "LoaiPhiLePhi": f.kind}
            for f in dossier.fees
        ],
    }


def progress_payload(update: ProgressUpdate, codes: CodeBook) -> dict:
    return {
        "MaHoSo": update.dossier_code,
        "TrangThai": str(codes.status_code(update.state, update.transition)),
        "ThoiDiemXuLy": format_vn(update.at),
        "NguoiXuLy": update.handler_name,
        "ChucDanh": update.handler_title,
        "PhongBanXuLy": update.department,
        "NoiDungXuLy": update.note,
        "NgayBatDau": format_vn(update.step_started_at),
        "NgayKetThucTheoQuyDinh": format_vn(update.step_due_at),
        "NgayHenTra": format_vn(update.due_at),
        "NgayHenTraMoi": format_vn(update.new_appointment_at),
        "DonViXuLy": update.agency_name,
        "DanhSachGiayToKetQua": _results(update.results),
    }


def _text(body: Mapping, key: str, *, required: bool = True) -> str:
    value = body.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(key)
    value = str(value)
    if required and not value:
        raise ValueError(key)
    return value


def _date(body: Mapping, key: str, *, required: bool = False):
    try:
        return parse_vn(_text(body, key, required=required))
    except ValueError as exc:
        raise ValueError(key) from exc


def receipt_from(system: str, code: str, body: Mapping, *, replayed: bool) -> PortalReceipt:
    try:
        if _text(body, "MaHoSo") != code:
            raise ValueError("MaHoSo")
        return PortalReceipt(
            system=system, dossier_code=code, reference=_text(body, "MaTiepNhan"),
            accepted_at=_date(body, "ThoiDiemNhan"), replayed=replayed,
        )
    except ValueError as exc:
        raise BadResponse(extra={"field": str(exc)}) from exc


def remote_dossier_from(system: str, body: Mapping) -> RemoteDossier:
    try:
        return RemoteDossier(
            system=system, code=_text(body, "MaHoSo"), procedure_code=_text(body, "MaTTHC"),
            status_code=int(_text(body, "TrangThaiHoSo")),
            received_at=_date(body, "NgayTiepNhan"),
            due_at=_date(body, "NgayHenTra"),
            progress_count=int(_text(body, "SoLanCapNhat", required=False) or 0),
        )
    except ValueError as exc:
        raise BadResponse(extra={"field": str(exc)}) from exc


def catalog_entry_from(item: Mapping, codes: CodeBook) -> CatalogEntry:
    try:
        remote = _text(item, "MaTTHC")
        fee = _text(item, "LePhi", required=False)
        return CatalogEntry(
            remote_code=remote, local_code=codes.local_procedure(remote),
            name=_text(item, "TenTTHC"), sector=_text(item, "LinhVuc", required=False),
            agency_name=_text(item, "CoQuanThucHien", required=False),
            processing_days=_text(item, "ThoiHanGiaiQuyet", required=False),
            online_level=ONLINE_LEVELS.get(_text(item, "MucDo", required=False), ""),
            fee_vnd=int(fee) if fee else None,
        )
    except (ValueError, AttributeError) as exc:
        raise BadResponse(extra={"field": str(exc)}) from exc


def inbound_from(system: str, body: bytes, codes: CodeBook) -> InboundDossier:
    """A dossier submitted on a remote portal; a malformed body is an InvalidPayload."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past any real form
        raise InvalidPayload(_("Nội dung không phải JSON hợp lệ.")) from exc
    if not isinstance(data, dict):
        raise InvalidPayload(_("Nội dung phải là một đối tượng JSON."))
    try:
        remote_procedure = _text(data, "MaTTHC")
        submitted_at = _date(data, "NgayNopHoSo", required=True)
        form_data = data.get("DuLieuBieuMau") or {}
        if not isinstance(form_data, dict):
            raise ValueError("DuLieuBieuMau")
        raw_documents = data.get("TaiLieuNop") or []
        if not isinstance(raw_documents, list):
            raise ValueError("TaiLieuNop")
        documents = tuple(
            DocumentRef(
                component_code=_text(d, "MaThanhPhanHoSo"), file_id=_text(d, "TepDinhKemId"),
                name=_text(d, "TenTepDinhKem"), url=_text(d, "DuongDanTaiTepTin", required=False),
                sha256=_text(d, "MaHash", required=False),
            )
            for d in raw_documents
        )
        return InboundDossier(
            system=system, remote_code=_text(data, "MaHoSo"),
            procedure_code=codes.local_procedure(remote_procedure),
            remote_procedure_code=remote_procedure, submitted_at=submitted_at,
            applicant_name=_text(data, "ChuHoSo"),
            applicant_id=_text(data, "SoGiayToChuHoSo", required=False),
            applicant_email=_text(data, "Email", required=False),
            applicant_phone=_text(data, "SoDienThoai", required=False),
            summary=_text(data, "TrichYeuHoSo", required=False),
            form_data=form_data, documents=documents,
        )
    except (ValueError, AttributeError) as exc:
        raise InvalidPayload(
            _("Trường %(field)s thiếu hoặc sai định dạng.") % {"field": exc},
            extra={"field": str(exc)},
        ) from exc

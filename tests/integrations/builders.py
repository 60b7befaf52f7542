"""Builders of the dataclasses the integrations take, with realistic defaults."""

from datetime import UTC, datetime

from integrations.base import DocumentRef, DossierSnapshot, Fee, PaymentBill, ProgressUpdate

RECEIVED = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội
DUE = datetime(2025, 3, 28, 10, 0, tzinfo=UTC)  # 17:00 in Hà Nội
# The fields the portal needs filled on every record (the simulator refuses them empty).
COMPLETE = {
    "handler_name": "Nguyễn Thị Lan", "handler_title": "Chuyên viên",
    "department": "Phòng Quản lý thương mại", "agency_name": "Sở Công Thương",
    "step_started_at": RECEIVED, "step_due_at": DUE,
}


def snapshot(code="SCT-250303-0001", **changes) -> DossierSnapshot:
    values = {
        "code": code, "procedure_code": "2.000648",
        "procedure_name": "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu",
        "state": "processing", "transition": "accept", "applicant_name": "Công ty Minh An",
        "at": RECEIVED, "received_at": RECEIVED, "due_at": DUE, "applicant_id": "3200123456",
        "channel": "online", "agency_code": "SCT",
        "documents": (DocumentRef("don", "F1", "don.pdf", sha256="ab" * 32),),
        **COMPLETE,
        "summary": "Cấp Giấy chứng nhận cửa hàng bán lẻ xăng dầu – Công ty Minh An",
        "applicant_email": "lienhe@minhan.example.vn", "applicant_phone": "0912345678",
        "fees": (Fee("Phí thẩm định", 1_200_000),),
    }
    return DossierSnapshot(**{**values, **changes})


def progress(code="SCT-250303-0001", state="processing", minute=0, **changes) -> ProgressUpdate:
    at = datetime(2025, 3, 4, 2, minute, tzinfo=UTC)
    values = dict(COMPLETE)
    return ProgressUpdate(dossier_code=code, state=state, at=at, **{**values, **changes})


def bill(**changes) -> PaymentBill:
    values = {"dossier_code": "SCT-250303-0001", "procedure_code": "2.000648",
              "amount": 1_200_000, "description": "Phí thẩm định", "payer_name": "Minh An",
              "return_url": "http://127.0.0.1:8000/ho-so/1/"}
    return PaymentBill(**{**values, **changes})

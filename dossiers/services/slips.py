"""The receipt and appointment slip (form 01 of Circular 01/2018), rendered as a PDF."""

from django.utils import timezone

from fpdf import FPDF

from signatures.results import FONT_DIR

from ..exceptions import InvalidTransition
from ..models import Document, Dossier


def _when(value) -> str:
    return timezone.localtime(value).strftime("%H giờ %M phút, ngày %d/%m/%Y") if value else ""


def slip_receipt_render(*, dossier: Dossier) -> bytes:
    """Form 01: what was received, when, and the appointment to return the result."""
    if dossier.received_at is None:
        raise InvalidTransition(
            "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận và hẹn trả kết quả.",
            extra={"state": dossier.state},
        )
    documents = (
        Document.objects.filter(dossier=dossier, is_current=True)
        .select_related("component").order_by("component__order", "component_id")
    )
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_title(f"Giấy tiếp nhận hồ sơ {dossier.code}")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(56, 56, 56)
    pdf.add_page()
    width = pdf.w - 112
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(width, 14, dossier.reception_agency.name.upper(), align="L")
    pdf.multi_cell(width, 14, "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", align="L")
    pdf.ln(4)
    pdf.multi_cell(width, 14, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="R")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(width, 14, "Độc lập - Tự do - Hạnh phúc", align="R")
    pdf.ln(10)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(width, 18, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", align="C")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(width, 16, f"Mã hồ sơ: {dossier.code}", align="C")
    pdf.ln(8)
    applicant = dossier.applicant
    lines = [
        f"{dossier.reception_agency.name} tiếp nhận hồ sơ của: {applicant.display_name}",
        *([f"Mã số thuế: {applicant.tax_code}"] if applicant.tax_code else []),
        *([f"Số CCCD: {applicant.citizen_id}"] if applicant.citizen_id else []),
        f"Nội dung yêu cầu giải quyết: {dossier.procedure.name}",
        f"Kênh nộp: {dossier.get_channel_display()}",
        "Thành phần hồ sơ nộp gồm:",
    ]
    for line in lines:
        pdf.multi_cell(width, 16, line)
    for number, document in enumerate(documents, start=1):
        pdf.multi_cell(width, 16, f"    {number}. {document.component.name} "
                                  f"({document.original_name}, bản {document.version})")
    pdf.ln(6)
    pdf.multi_cell(width, 16, f"Thời gian nhận hồ sơ: {_when(dossier.received_at)}")
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(width, 16, f"Thời gian trả kết quả giải quyết hồ sơ: {_when(dossier.due_at)}")
    pdf.set_font("DejaVu", "", 11)
    if dossier.new_appointment_at:
        pdf.multi_cell(width, 16, f"Hẹn lại (phiếu xin lỗi): {_when(dossier.new_appointment_at)}")
    pdf.multi_cell(width, 16, f"Tra cứu tình trạng hồ sơ bằng mã hồ sơ {dossier.code} và mã "
                              f"tra cứu {dossier.lookup_secret}.")
    return bytes(pdf.output())

"""Result PDFs: Vietnamese text in an embedded DejaVu font, a signature stamp and a QR code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import qrcode
from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
STAMP_W, STAMP_H = 250.0, 92.0
QR_SIZE = 92.0
MARGIN = 56.0


@dataclass(frozen=True)
class ResultContent:
    """What a result says; the dossiers app fills it from the dossier."""

    agency: str
    title: str
    number: str
    recipient: str
    body: tuple[str, ...]
    place: str
    signer_title: str
    signer_name: str
    extra_lines: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class RenderedResult:
    content: bytes
    stamp_box: tuple[float, float, float, float]  # PDF user space, origin bottom left
    page: int  # zero-based page that holds the stamp


def result_pdf_render(*, result: ResultContent, verify_url: str, signed_at: datetime,
                      signer_subject: str) -> RenderedResult:
    """A one-or-more-page A4 result; the stamp sits at the bottom right of the last page."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creator("Mot Cua")
    pdf.set_title(result.title)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN + STAMP_H + 20)
    pdf.add_page()
    width = PAGE_W - 2 * MARGIN
    half = width / 2

    y = pdf.get_y()
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(half - 10, 14, result.agency.upper(), align="C")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(half - 10, 14, f"Số: {result.number}", align="C")
    left_end = pdf.get_y()
    pdf.set_xy(MARGIN + half, y)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(half, 14, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
    pdf.set_x(MARGIN + half)
    pdf.multi_cell(half, 14, "Độc lập - Tự do - Hạnh phúc", align="C")
    pdf.set_x(MARGIN + half)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(half, 14, f"{result.place}, {signed_at:%d/%m/%Y}", align="C")
    pdf.set_y(max(left_end, pdf.get_y()) + 24)

    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(width, 20, result.title.upper(), align="C")
    pdf.ln(10)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(width, 16, f"Kính gửi: {result.recipient}")
    pdf.ln(6)
    for paragraph in (*result.body, *result.extra_lines):
        pdf.multi_cell(width, 16, paragraph)
        pdf.ln(4)
    pdf.ln(8)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_x(MARGIN + half)
    pdf.multi_cell(half, 16, result.signer_title.upper(), align="C")
    pdf.set_x(MARGIN + half)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(half, 16, result.signer_name, align="C")

    # The stamp and the QR code, fixed at the bottom of the last page.
    pdf.set_auto_page_break(False)
    top = PAGE_H - MARGIN - STAMP_H
    left = PAGE_W - MARGIN - STAMP_W
    pdf.set_draw_color(164, 22, 26)
    pdf.set_line_width(1.2)
    pdf.rect(left, top, STAMP_W, STAMP_H)
    pdf.set_text_color(164, 22, 26)
    pdf.set_xy(left + 6, top + 6)
    pdf.set_font("DejaVu", "B", 9)
    pdf.multi_cell(STAMP_W - 12, 12, "ĐÃ KÝ SỐ", align="L")
    pdf.set_font("DejaVu", "", 8)
    for line in (
        f"Ký bởi: {signer_subject}",
        f"Cơ quan: {result.agency}",
        f"Thời gian ký: {signed_at:%d/%m/%Y %H:%M:%S %z}",
    ):
        pdf.set_x(left + 6)
        pdf.multi_cell(STAMP_W - 12, 11, line, align="L")
    pdf.set_text_color(0, 0, 0)

    qr = qrcode.QRCode(border=1, box_size=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(verify_url)
    qr.make(fit=True)
    pdf.image(qr.make_image().get_image(), x=MARGIN, y=top, w=QR_SIZE, h=QR_SIZE)
    pdf.set_xy(MARGIN + QR_SIZE + 6, top + QR_SIZE - 24)
    pdf.set_font("DejaVu", "", 7)
    pdf.multi_cell(left - MARGIN - QR_SIZE - 12, 9, f"Xác thực văn bản: {verify_url}")

    stamp_box = (left, PAGE_H - top - STAMP_H, left + STAMP_W, PAGE_H - top)
    return RenderedResult(content=bytes(pdf.output()), stamp_box=stamp_box, page=pdf.page - 1)

"""Result PDFs (licence, decision, refusal notice): an HTML template rendered by WeasyPrint in
the DejaVu Sans the portal ships, with the signature stamp and a QR code to verify them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import translation

from portal.papers import paper_render, place_date, qr_png_data_uri, timestamp_text

FONT_DIR = Path(__file__).resolve().parent / "fonts"
TEMPLATE = "signatures/papers/result.html"
STAMP_ID = "stamp"


@dataclass(frozen=True)
class ResultContent:
    """What a result says; the dossiers app fills it from the dossier with plain values."""

    agency: str
    title: str
    number: str
    recipient: str
    body: tuple[str, ...]
    place: str  # the place before the date under the national motto, e.g. "Quảng Trị"
    signer_title: str
    signer_name: str
    extra_lines: tuple[str, ...] = field(default=())
    dossier_code: str = ""
    procedure: str = ""
    procedure_code: str = ""
    applicant_facts: tuple[str, ...] = field(default=())  # "Mã số thuế: 3200123456", ...
    reason: str = ""  # a refusal's reason, printed apart from the body
    copies_to: tuple[str, ...] = field(default=("Như trên", "Lưu: VT"))


@dataclass(frozen=True)
class RenderedResult:
    content: bytes
    stamp_box: tuple[float, float, float, float]  # PDF user space, origin bottom left
    page: int  # zero-based page that holds the stamp


def result_pdf_render(*, result: ResultContent, verify_url: str, signed_at: datetime,
                      signer_subject: str) -> RenderedResult:
    """An A4 result of one or more pages; the stamp sits in the signer's block on the last."""
    context = {
        "result": result,
        "place_date": place_date(result.place, signed_at),
        "signed_at": timestamp_text(signed_at),
        "signer_subject": signer_subject,
        "verify_url": verify_url,
        "qr": qr_png_data_uri(verify_url),
        "stamp_id": STAMP_ID,
    }
    with translation.override("vi"):
        rendered = paper_render(template=TEMPLATE, context=context, font_dir=FONT_DIR,
                                locate=[STAMP_ID])
    stamp = rendered.placed[STAMP_ID]
    return RenderedResult(content=rendered.content, stamp_box=stamp.box, page=stamp.page)

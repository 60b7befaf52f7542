"""What the journey tests share: the catalog and accounts, a PDF to upload, the fake payment
platform, the applicant's wizard driven in the browser, and a skip for pages not built yet."""

import re

from django.urls import Resolver404, resolve

import pytest
from fpdf import FPDF
from playwright.sync_api import expect

from .conftest import path_of

LPG = "Cấp lại Giấy chứng nhận đủ điều kiện trạm nạp LPG vào chai"
LPG_FORM = {
    "Tên tổ chức, doanh nghiệp": "Công ty TNHH Thương mại Đông Hà",
    "Mã số thuế": "3200123456",
    "Địa chỉ trụ sở chính": "12 Lê Duẩn, phường Đông Hà, tỉnh Quảng Trị",
    "Số điện thoại liên hệ": "0233385201",
    "Số Giấy chứng nhận đã được cấp": "45/GCN-SCT",
    "Địa chỉ trạm nạp LPG vào chai": "Km 5 Quốc lộ 9, xã Cam Hiếu, tỉnh Quảng Trị",
}
LPG_REASON = "Giấy chứng nhận bị hư hỏng"
CALLBACK = "api:dossiers:integrations:payment_callback"


def page_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def need_page(path: str, what: str) -> None:
    """Skip the rest of a test, naming the page, while `path` leads nowhere in the portal."""
    if not page_exists(path):
        pytest.skip(f"page {path} ({what}) is not built yet")


def pdf_bytes(title: str = "Giay de nghi cap lai Giay chung nhan") -> bytes:
    """A one-page PDF, as a scanner or a word processor would make."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.multi_cell(0, 10, title)
    return bytes(pdf.output())


def pdf_payload(name: str = "giay-de-nghi.pdf", title: str | None = None) -> dict:
    content = pdf_bytes(title) if title else pdf_bytes()
    return {"name": name, "mimeType": "application/pdf", "buffer": content}


def lpg_procedure():
    from dossiers.models import Procedure

    return Procedure.objects.get(name=LPG)


def start_draft(page, procedure) -> int:
    """From the procedure's filing page to a draft's form (step 1); returns the dossier id."""
    need_page(f"/nop-ho-so/{procedure.pk}/", "the filing wizard")
    page.goto(f"/nop-ho-so/{procedure.pk}/")
    expect(page.locator("main h1")).to_have_text(procedure.name)
    with page.expect_navigation():
        page.get_by_role("button", name="Bắt đầu").click()
    match = re.fullmatch(r"/ho-so-cua-toi/(\d+)/soan/", path_of(page))
    assert match, f"the draft's form is not where it should be: {page.url}"
    return int(match.group(1))


def fill_lpg_form(page, values: dict | None = None, reason: str | None = LPG_REASON) -> None:
    for label, value in (values or LPG_FORM).items():
        page.get_by_label(label, exact=True).fill(value)
    if reason is not None:
        page.get_by_label("Lý do cấp lại", exact=True).select_option(reason)


def upload(page, code: str, payload) -> None:
    """Choose a file for a component and send it; waits for the row to come back."""
    row = page.locator(f"#component-{code}")
    row.locator("input[type=file]").set_input_files(payload)
    with page.expect_response(lambda r: r.request.method == "POST"):
        row.get_by_role("button", name="Tải lên", exact=True).click()


def expect_signature_valid(page, code: str, signer: str) -> None:
    row = page.locator(f"#component-{code}")
    expect(row.locator(".verdict .badge")).to_have_text("Hợp lệ", timeout=20_000)
    expect(row.locator(".verdict")).to_contain_text(signer)


def demo_sign(page, code: str) -> None:
    row = page.locator(f"#component-{code}")
    button = row.get_by_role("button", name="Ký số (demo)")
    expect(button).to_be_visible(timeout=20_000)
    with page.expect_response(lambda r: r.request.method == "POST"):
        button.click()

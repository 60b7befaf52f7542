"""Bad input in the filing wizard: each message stands next to its field, in Vietnamese, and
nothing typed is lost."""

from playwright.sync_api import expect

from .conftest import PNG_BYTES, path_of, sign_in
from .journey import LPG_FORM, fill_lpg_form, lpg_procedure, pdf_payload, start_draft, upload

BAD_FORM = {
    **LPG_FORM,
    "Mã số thuế": "32001-AB",
    "Số điện thoại liên hệ": "12345",
    "Địa chỉ trụ sở chính": "",
}


def _draft(new_context):
    page = new_context().new_page()
    sign_in(page, "doanhnghiep")
    dossier_id = start_draft(page, lpg_procedure())
    return page, dossier_id


def _field_error(page, field: str):
    return page.locator(f"#id_{field}-error")


def test_invalid_fields_are_named_next_to_them_and_the_entries_stay(new_context, portal_world):
    page, dossier_id = _draft(new_context)
    fill_lpg_form(page, BAD_FORM)
    # The server's own checks, as a browser without scripts (or one that skips them) meets them.
    page.locator("form.schema-form").evaluate("form => { form.noValidate = true; }")

    with page.expect_navigation():
        page.get_by_role("button", name="Lưu và tiếp tục").click()

    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/soan/"
    expect(page.get_by_role("alert")).to_contain_text("Tờ khai chưa hợp lệ")
    for field in ("tax_code", "phone", "address"):
        expect(_field_error(page, field)).to_be_visible()
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
        described = page.locator(f"#id_{field}").get_attribute("aria-describedby") or ""
        assert f"id_{field}-error" in described.split()
    expect(_field_error(page, "tax_code")).to_contain_text("Mã số thuế")
    expect(_field_error(page, "address")).to_contain_text("Địa chỉ trụ sở chính")
    # What was typed is all still there, the wrong values included.
    for label, value in BAD_FORM.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Lý do cấp lại", exact=True)).to_have_value("Giấy chứng nhận bị hư hỏng")
    # Nothing was saved: the draft's form is as it was.
    from dossiers.models import Dossier

    assert Dossier.objects.get(pk=dossier_id).form_data in ({}, None)

    # Put right, it goes on to the documents.
    page.get_by_label("Mã số thuế", exact=True).fill(LPG_FORM["Mã số thuế"])
    page.get_by_label("Số điện thoại liên hệ", exact=True).fill(LPG_FORM["Số điện thoại liên hệ"])
    page.get_by_label("Địa chỉ trụ sở chính", exact=True).fill(LPG_FORM["Địa chỉ trụ sở chính"])
    with page.expect_navigation():
        page.get_by_role("button", name="Lưu và tiếp tục").click()
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/tai-lieu/"


def test_the_browser_check_speaks_vietnamese_next_to_the_field(new_context, portal_world):
    page, dossier_id = _draft(new_context)
    fill_lpg_form(page, BAD_FORM)

    page.get_by_role("button", name="Lưu và tiếp tục").click()

    # The page stays (nothing sent) and the first wrong field has the focus and its message.
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/soan/"
    # The focus is on the first wrong field in the page's order (that order follows the stored
    # schema's keys, which PostgreSQL's jsonb does not keep as written).
    first_wrong = page.evaluate(
        "() => document.querySelector('form input:invalid, form select:invalid, "
        "form textarea:invalid').id")
    assert first_wrong in ("id_tax_code", "id_phone", "id_address")
    expect(page.locator(f"#{first_wrong}")).to_be_focused()
    for field in ("tax_code", "phone", "address"):
        expect(_field_error(page, field)).to_be_visible()
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
    expect(_field_error(page, "address")).to_contain_text("Địa chỉ trụ sở chính")
    expect(page.get_by_label("Mã số thuế", exact=True)).to_have_value("32001-AB")


def test_a_file_of_the_wrong_type_is_refused_next_to_its_component(new_context, portal_world):
    page, dossier_id = _draft(new_context)
    page.goto(f"/ho-so-cua-toi/{dossier_id}/tai-lieu/")

    upload(page, "request_form", {"name": "anh-chup.png", "mimeType": "image/png",
                                  "buffer": PNG_BYTES})

    row = page.locator("#component-request_form")
    error = row.locator("#file-request_form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("PDF")
    expect(row.locator("input[type=file]")).to_have_attribute("aria-invalid", "true")
    expect(row).not_to_contain_text("anh-chup.png")
    expect(row).to_contain_text("Chưa tải lên.")
    from dossiers.models import Document

    assert not Document.objects.filter(dossier_id=dossier_id).exists()

    # A PDF in its place is taken.
    upload(page, "request_form", pdf_payload())
    expect(row).to_contain_text("giay-de-nghi.pdf")
    expect(row.locator("#file-request_form-error")).to_be_hidden()


def test_sending_without_a_file_asks_for_one(new_context, portal_world):
    page, dossier_id = _draft(new_context)
    page.goto(f"/ho-so-cua-toi/{dossier_id}/tai-lieu/")

    page.locator("#component-request_form").get_by_role("button", name="Tải lên", exact=True).click()

    error = page.locator("#file-request_form-error")
    expect(error).to_have_text("Vui lòng chọn tệp để tải lên.")
    expect(page.locator("#file-request_form")).to_be_focused()


def test_a_dossier_missing_its_document_cannot_be_submitted(new_context, portal_world):
    page, dossier_id = _draft(new_context)
    fill_lpg_form(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Lưu và tiếp tục").click()
    page.goto(f"/ho-so-cua-toi/{dossier_id}/nop/")

    problems = page.locator("#problems")
    expect(problems).to_contain_text("Chưa tải lên thành phần bắt buộc")
    expect(problems).to_contain_text("Giấy đề nghị cấp lại Giấy chứng nhận")

    with page.expect_navigation():
        page.get_by_role("button", name="Nộp hồ sơ").click()

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Chưa tải lên thành phần bắt buộc")
    from dossiers.models import Dossier

    assert Dossier.objects.get(pk=dossier_id).state == "draft"
    # The problem's link leads to the component's upload.
    with page.expect_navigation():
        page.locator("#problems").get_by_role("link", name="Tải lên ở bước 2").click()
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/tai-lieu/"
    expect(page.locator("#component-request_form")).to_be_visible()

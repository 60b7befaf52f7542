"""The whole life of a dossier in the browser: a business files, signs, pays and submits; the
agency receives, asks for a supplement, reviews, approves and issues a signed result; the
business downloads it and rates; the manager's figures move."""

import re
from pathlib import Path

from django.urls import reverse

from playwright.sync_api import expect

from .conftest import path_of, sign_in
from .journey import (
    CALLBACK,
    LPG_FORM,
    demo_sign,
    expect_signature_valid,
    fill_lpg_form,
    lpg_procedure,
    need_page,
    page_exists,
    pdf_payload,
    start_draft,
    upload,
)

SUPPLEMENT_REASON = "Bổ sung Giấy đề nghị có chữ ký số của người đại diện theo pháp luật."


def pay_online(page, provider, dossier_id: int) -> None:
    """Pay the fee from the wizard; the platform confirms with its signed callback."""
    from dossiers.models import Payment

    with page.expect_navigation():
        fee = page.get_by_role("region", name="Phí, lệ phí")
        fee.get_by_role("link", name="Thanh toán", exact=True).click()
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/thanh-toan/"
    expect(page.locator("main .amount")).to_contain_text("500.000")
    with page.expect_navigation():
        page.get_by_role("button", name="Thanh toán trực tuyến").click()
    # Back from the platform before it confirmed: the portal does not believe the browser.
    assert re.fullmatch(r"/thanh-toan/ket-qua/\d+/", path_of(page))
    expect(page.get_by_role("status")).to_contain_text("chưa nhận được xác nhận")

    payment = Payment.objects.get(dossier_id=dossier_id)
    provider.complete(payment.provider_reference)
    answer = page.request.post(
        reverse(CALLBACK), data=provider.signed_callback(payment.provider_reference),
        headers={"Content-Type": "application/json"},
    )
    assert answer.ok, answer.text()

    with page.expect_navigation():
        page.get_by_role("link", name="Kiểm tra lại").click()
    expect(page.get_by_role("status")).to_contain_text("đã xác nhận khoản phí")


def file_signed_paid_dossier(page, provider, procedure) -> tuple[int, str]:
    """The applicant's part up to the receipt: returns the dossier's id and code."""
    dossier_id = start_draft(page, procedure)

    fill_lpg_form(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Lưu và tiếp tục").click()
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/tai-lieu/"

    upload(page, "request_form", pdf_payload())
    row = page.locator("#component-request_form")
    expect(row).to_contain_text("giay-de-nghi.pdf")
    expect(row.locator(".verdict .badge")).to_have_text("Không có chữ ký số", timeout=20_000)
    demo_sign(page, "request_form")
    expect_signature_valid(page, "request_form", "Công ty TNHH Thương mại Đông Hà")

    with page.expect_navigation():
        page.get_by_role("link", name="Tiếp tục").click()
    assert path_of(page) == f"/ho-so-cua-toi/{dossier_id}/nop/"
    for value in LPG_FORM.values():
        expect(page.locator("main dl.facts")).to_contain_text(value)
    expect(page.locator("#problems")).to_contain_text("cần thanh toán trước khi nộp")

    pay_online(page, provider, dossier_id)

    page.goto(f"/ho-so-cua-toi/{dossier_id}/nop/")
    expect(page.get_by_role("region", name="Phí, lệ phí")).to_contain_text("Đã thanh toán")
    with page.expect_navigation():
        page.get_by_role("button", name="Nộp hồ sơ").click()
    banner = page.locator(".submitted-banner")
    expect(banner).to_contain_text("Đã nộp hồ sơ thành công")
    code = banner.locator(".big-code").inner_text().strip()
    assert re.fullmatch(r"SCT-\d{6}-\d{4}", code), code
    expect(page.locator("main h1")).to_contain_text(code)
    return dossier_id, code


def test_a_business_files_a_dossier_and_receives_the_signed_result(
    new_context, portal_world, demo_users
):
    provider = portal_world
    procedure = lpg_procedure()
    completed_before = received_before = 0
    if page_exists("/quan-ly/chi-so/"):
        manager = new_context().new_page()
        sign_in(manager, "quanly")
        completed_before = figure(manager, "Đã giải quyết")
        received_before = figure(manager, "Đã tiếp nhận")
    applicant = new_context().new_page()
    sign_in(applicant, "doanhnghiep")

    dossier_id, code = file_signed_paid_dossier(applicant, provider, procedure)

    from dossiers.models import Dossier

    dossier = Dossier.objects.get(pk=dossier_id)
    assert (dossier.state, dossier.code, dossier.fee_paid) == ("submitted", code, True)

    # --- the agency --------------------------------------------------------------------
    need_page("/can-bo/hang-doi/", "the officers' queue")
    need_page(f"/can-bo/ho-so/{dossier_id}/", "the officers' dossier page")
    reception = new_context().new_page()
    sign_in(reception, "tiepnhan")
    expect(reception.locator("main")).to_contain_text(code)
    with reception.expect_navigation():
        reception.locator("main").get_by_role("link", name=code).first.click()
    assert path_of(reception) == f"/can-bo/ho-so/{dossier_id}/"
    officer_move(reception, "Tiếp nhận hồ sơ")
    assert Dossier.objects.get(pk=dossier_id).state == "processing"

    specialist = new_context().new_page()
    sign_in(specialist, "chuyenvien")
    specialist.goto(f"/can-bo/ho-so/{dossier_id}/")
    claim = specialist.get_by_role("button", name="Nhận xử lý")
    if claim.count():
        with specialist.expect_navigation():
            claim.click()
    officer_move(specialist, "Yêu cầu bổ sung hồ sơ", reason=SUPPLEMENT_REASON,
                 tick=["Giấy đề nghị cấp lại Giấy chứng nhận"])
    assert Dossier.objects.get(pk=dossier_id).state == "awaiting_supplement"

    # --- the applicant supplies ----------------------------------------------------------
    applicant.goto(f"/ho-so-cua-toi/{dossier_id}/")
    expect(applicant.locator("main")).to_contain_text(SUPPLEMENT_REASON)
    applicant.goto(f"/ho-so-cua-toi/{dossier_id}/tai-lieu/")
    expect(applicant.get_by_role("region", name="Cơ quan yêu cầu bổ sung hồ sơ")).to_contain_text(
        SUPPLEMENT_REASON)
    upload(applicant, "request_form", pdf_payload("giay-de-nghi-bo-sung.pdf", "Ban bo sung"))
    expect(applicant.locator("#component-request_form")).to_contain_text(
        "giay-de-nghi-bo-sung.pdf")
    demo_sign(applicant, "request_form")
    expect_signature_valid(applicant, "request_form", "Công ty TNHH Thương mại Đông Hà")
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="Gửi bổ sung").click()
    assert Dossier.objects.get(pk=dossier_id).state == "processing"

    # --- review, approval, result ----------------------------------------------------------
    specialist.goto(f"/can-bo/ho-so/{dossier_id}/")
    while not moves(specialist).get_by_text("Trình lãnh đạo phê duyệt").count():
        assert moves(specialist).get_by_text("Chuyển bước tiếp theo").count(), (
            moves(specialist).inner_text())
        officer_move(specialist, "Chuyển bước tiếp theo")
    officer_move(specialist, "Trình lãnh đạo phê duyệt")
    assert Dossier.objects.get(pk=dossier_id).state == "pending_approval"

    leader = new_context().new_page()
    sign_in(leader, "lanhdao")
    leader.goto(f"/can-bo/ho-so/{dossier_id}/")
    officer_move(leader, "Phê duyệt")
    assert Dossier.objects.get(pk=dossier_id).state == "approved"
    officer_move(leader, "Ban hành kết quả", fields={"Số văn bản": "12/GCN-SCT"})
    dossier = Dossier.objects.get(pk=dossier_id)
    assert dossier.state == "result_ready" and dossier.completed_at is not None

    # --- the applicant gets the result and rates --------------------------------------------
    applicant.goto(f"/ho-so-cua-toi/{dossier_id}/")
    result = applicant.locator("#ket-qua")
    expect(result).to_contain_text("12/GCN-SCT")
    expect(result).to_contain_text("Đã ký số")
    name, content = _download(applicant, "Tải kết quả điện tử (PDF)")
    assert name.endswith(".pdf") and content.startswith(b"%PDF-"), name
    assert b"/ByteRange" in content  # the agency's signature
    applicant.locator("#danh-gia input[type=radio][value='5']").check()
    applicant.get_by_label("Góp ý (không bắt buộc)").fill("Cán bộ hướng dẫn tận tình.")
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="Gửi đánh giá").click()
    expect(applicant.locator("#danh-gia")).to_contain_text("Rất hài lòng")

    # --- the manager's figures -------------------------------------------------------------
    need_page("/quan-ly/chi-so/", "the managers' indicators")
    manager = new_context().new_page()
    sign_in(manager, "quanly")
    assert path_of(manager) == "/quan-ly/chi-so/"
    assert figure(manager, "Đã giải quyết") == completed_before + 1
    assert figure(manager, "Đã tiếp nhận") == received_before + 1


def moves(page):
    return page.locator("#thao-tac")


def officer_move(page, label: str, *, reason: str | None = None, fields: dict | None = None,
                 tick: list[str] = ()):
    """Make a move from the officer's dossier page; a move with fields opens its form first."""
    box = moves(page)
    opener = box.locator("details.move > summary", has_text=label)
    if opener.count():
        opener.click()
        form = box.locator("details.move[open] form")
        if reason is not None:
            form.locator("textarea[name=reason]").fill(reason)
        for choice in tick:
            form.get_by_label(choice).check()
        for field_label, value in (fields or {}).items():
            form.get_by_label(field_label).fill(value)
        with page.expect_navigation():
            form.get_by_role("button", name=f"Xác nhận: {label}").click()
    else:
        with page.expect_navigation():
            box.get_by_role("button", name=label, exact=True).click()
    expect(page.locator("main .messages .alert-success")).to_be_visible()


def figure(page, label: str) -> int:
    page.goto("/quan-ly/chi-so/")
    value = page.locator("li.figure", has=page.locator(".label", has_text=label)).first
    return int(re.sub(r"\D", "", value.locator(".value").inner_text()) or 0)


def _download(page, link_name: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()

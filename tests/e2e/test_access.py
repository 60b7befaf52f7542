"""Who may open what, as a browser meets it; and the applicant's pages on a phone."""

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_sideways_scroll, off_loop, sign_in
from .journey import LPG_FORM, need_page, pdf_bytes

NOT_FOUND = "Không tìm thấy trang"


def _form_data() -> dict:
    return {
        "applicant_name": LPG_FORM["Tên tổ chức, doanh nghiệp"],
        "tax_code": LPG_FORM["Mã số thuế"],
        "address": LPG_FORM["Địa chỉ trụ sở chính"],
        "phone": LPG_FORM["Số điện thoại liên hệ"],
        "certificate_number": LPG_FORM["Số Giấy chứng nhận đã được cấp"],
        "station_address": LPG_FORM["Địa chỉ trạm nạp LPG vào chai"],
        "reissue_reason": "Giấy chứng nhận bị mất",
    }


@pytest.fixture
def dossiers(portal_world, demo_users):
    """doanhnghiep's draft and a submitted dossier (paid), made through the services."""
    return off_loop(_seed, demo_users["doanhnghiep"])


def _seed(owner) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dossiers.models import Procedure
    from dossiers.services import document_upload, dossier_create, dossier_submit
    from dossiers.services.payments import payment_confirm, payment_start
    from signatures.demo_signing import demo_pdf_sign

    procedure = Procedure.objects.get(name__startswith="Cấp lại Giấy chứng nhận đủ điều kiện trạm")
    made = {}
    for name in ("draft", "submitted"):
        dossier = dossier_create(actor=owner, procedure_id=procedure.pk, form_data=_form_data())
        signed = demo_pdf_sign(content=pdf_bytes(), user=owner)
        document_upload(dossier_id=dossier.pk, actor=owner, component_code="request_form",
                        uploaded_file=SimpleUploadedFile("don.pdf", signed, "application/pdf"))
        made[name] = dossier
    payment = payment_start(dossier_id=made["submitted"].pk, actor=owner)
    payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                    amount=payment.amount, confirmed_by="test")
    dossier_submit(dossier_id=made["submitted"].pk, actor=owner)
    made["submitted"].refresh_from_db()
    return made


def _expect_refused(page, path: str) -> None:
    response = page.goto(path)
    assert response.status in (403, 404), f"{path} answers {response.status}"
    expect(page.locator("main h1")).to_have_text(NOT_FOUND if response.status == 404 else
                                                  page.locator("main h1").inner_text())
    expect(page.locator("main")).not_to_contain_text(LPG_FORM["Số Giấy chứng nhận đã được cấp"])


def test_an_applicant_cannot_open_another_applicants_dossier(new_context, dossiers):
    page = new_context().new_page()
    sign_in(page, "congdan")
    draft, submitted = dossiers["draft"], dossiers["submitted"]

    for path in (
        f"/ho-so-cua-toi/{submitted.pk}/",
        f"/ho-so-cua-toi/{submitted.pk}/thanh-toan/",
        f"/ho-so-cua-toi/{submitted.pk}/phieu-hen.pdf",
        f"/ho-so-cua-toi/{draft.pk}/soan/",
        f"/ho-so-cua-toi/{draft.pk}/tai-lieu/",
        f"/ho-so-cua-toi/{draft.pk}/nop/",
    ):
        response = page.goto(path)
        assert response.status == 404, f"{path} answers {response.status}"
        expect(page.locator("main h1")).to_have_text(NOT_FOUND)
        expect(page.locator("main")).not_to_contain_text(submitted.code)

    # Their own list does not show it either.
    page.goto("/ho-so-cua-toi/")
    expect(page.locator("main")).not_to_contain_text(submitted.code)
    # The owner does see it.
    owner = new_context().new_page()
    sign_in(owner, "doanhnghiep")
    owner.goto(f"/ho-so-cua-toi/{submitted.pk}/")
    expect(owner.locator("main h1")).to_contain_text(submitted.code)


def test_an_officer_of_another_agency_cannot_open_the_dossier(new_context, dossiers):
    from portal.roles import Role
    from tests.dossiers.factories import AgencyFactory, UserFactory

    submitted = dossiers["submitted"]
    need_page(f"/can-bo/ho-so/{submitted.pk}/", "the officers' dossier page")
    AgencyFactory(code="SXD", name="Sở Xây dựng tỉnh Quảng Trị")
    UserFactory(username="tiepnhan-sxd", roles=[Role.RECEPTION], kind="staff",
                agency_code="SXD", password="matkhau-sxd-2025")
    page = new_context().new_page()
    sign_in(page, "tiepnhan-sxd", "matkhau-sxd-2025")

    response = page.goto(f"/can-bo/ho-so/{submitted.pk}/")

    assert response.status in (403, 404), response.status
    expect(page.locator("main")).not_to_contain_text(submitted.code)
    page.goto("/can-bo/hang-doi/")
    expect(page.locator("main")).not_to_contain_text(submitted.code)
    # The applicant's pages are not theirs either.
    assert page.goto(f"/ho-so-cua-toi/{submitted.pk}/").status == 403


def test_the_applicants_pages_fit_a_phone(new_context, dossiers):
    page = new_context("phone").new_page()
    sign_in(page, "doanhnghiep")
    draft, submitted = dossiers["draft"], dossiers["submitted"]

    for path in (
        "/",
        f"/thu-tuc/{draft.procedure_id}/",
        f"/nop-ho-so/{draft.procedure_id}/",
        "/ho-so-cua-toi/",
        f"/ho-so-cua-toi/{draft.pk}/soan/",
        f"/ho-so-cua-toi/{draft.pk}/tai-lieu/",
        f"/ho-so-cua-toi/{draft.pk}/nop/",
        f"/ho-so-cua-toi/{draft.pk}/thanh-toan/",
        f"/ho-so-cua-toi/{submitted.pk}/",
        f"/ho-so-cua-toi/{submitted.pk}/thanh-toan/",
    ):
        response = page.goto(path)
        assert response.status == 200, f"{path} answers {response.status}"
        expect(page.locator("main h1").first).to_be_visible()
        assert_no_sideways_scroll(page)
    # The last page seen (the screenshot): the submitted dossier.
    page.goto(f"/ho-so-cua-toi/{submitted.pk}/")

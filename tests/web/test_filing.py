"""The filing wizard: start a draft, fill in the form, upload, review and submit; send a
supplement or a completed dossier back; the demo signer; who may open which page."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import pytest

from dossiers import services
from dossiers.models import Document, Dossier, Procedure
from portal.roles import Role
from tests.conftest import PDF_BYTES, PNG_BYTES
from tests.dossiers.factories import VALID_FORM, DossierFactory, ProcedureFactory, UserFactory
from tests.signatures.pki import one_page_pdf


@pytest.fixture
def procedure(agency) -> Procedure:
    return ProcedureFactory(agency=agency)


@pytest.fixture
def draft(applicant, procedure) -> Dossier:
    return DossierFactory(applicant=applicant, procedure=procedure)


@pytest.fixture
def as_applicant(client, applicant):
    client.force_login(applicant)
    return client


def url(name: str, *args) -> str:
    return reverse(f"web:applicant:{name}", args=args)


def upload(client, dossier, code="don_de_nghi", content=PDF_BYTES, name="don.pdf",
           htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url("file_documents", dossier.pk),
                       {"component": code, "file": SimpleUploadedFile(name, content)},
                       headers=headers)


def field_html(html: str, field_id: str) -> str:
    """The <div class="field"> of one form field."""
    match = re.search(rf'<div class="field[^"]*" id="field-{field_id}">(.*?)</div>', html, re.S)
    assert match, field_id
    return match.group(1)


# --- start ---------------------------------------------------------------------------------


def test_start_page_shows_the_procedure_and_creates_nothing_on_get(as_applicant, procedure):
    response = as_applicant.get(url("file_start", procedure.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert procedure.name in html
    assert "Đơn đề nghị" in html and "Bắt đầu" in html
    assert not Dossier.objects.exists()


def test_start_creates_a_draft_and_goes_to_the_form(as_applicant, applicant, procedure):
    response = as_applicant.post(url("file_start", procedure.pk), {"on_behalf_name": ""})

    dossier = Dossier.objects.get()
    assert (dossier.applicant, dossier.procedure, dossier.state) == (
        applicant, procedure, Dossier.State.DRAFT)
    assert response["Location"] == url("file_form", dossier.pk)


def test_start_offers_to_continue_an_existing_draft(as_applicant, draft):
    html = as_applicant.get(url("file_start", draft.procedure.pk)).content.decode()

    assert "Hồ sơ đang soạn dở" in html
    assert url("file_form", draft.pk) in html


def test_signed_out_people_are_sent_to_sign_in_first(client, procedure):
    response = client.get(url("file_start", procedure.pk))

    assert response.status_code == 302
    assert response["Location"] == f"/dang-nhap/?next={url('file_start', procedure.pk)}"


def test_an_inactive_or_unknown_procedure_is_a_404(as_applicant, procedure):
    Procedure.objects.filter(pk=procedure.pk).update(is_active=False)

    assert as_applicant.get(url("file_start", procedure.pk)).status_code == 404
    assert as_applicant.post(url("file_start", procedure.pk)).status_code == 404
    assert not Dossier.objects.exists()


# --- the whole path ------------------------------------------------------------------------


def test_the_whole_filing_path_from_draft_to_submission(as_applicant, applicant, procedure):
    started = as_applicant.post(url("file_start", procedure.pk))
    assert started.status_code == 302, started.content.decode()[-3000:]
    dossier = Dossier.objects.get()

    form_page = as_applicant.get(url("file_form", dossier.pk)).content.decode()
    assert 'class="steps filing-steps"' in form_page and 'aria-current="step"' in form_page
    saved = as_applicant.post(url("file_form", dossier.pk), {
        "applicant_name": "Công ty TNHH Ánh Dương", "tax_code": "3200123456",
        "capacity_m3": "12,5", "continue": "1", "version": dossier.version,
    })
    assert saved["Location"] == url("file_documents", dossier.pk)
    dossier.refresh_from_db()
    assert dossier.form_data == {"applicant_name": "Công ty TNHH Ánh Dương",
                                 "tax_code": "3200123456", "capacity_m3": 12.5}

    row = upload(as_applicant, dossier, htmx=True)
    assert row.status_code == 200
    assert 'id="component-don_de_nghi"' in row.content.decode()
    assert "don.pdf" in row.content.decode()
    assert Document.objects.get(dossier=dossier).component.code == "don_de_nghi"

    review = as_applicant.get(url("file_review", dossier.pk)).content.decode()
    assert "Công ty TNHH Ánh Dương" in review and "Nộp hồ sơ" in review
    assert "Hồ sơ chưa thể nộp" not in review
    key = re.search(r'name="idempotency_key" value="(\w+)"', review).group(1)

    submitted = as_applicant.post(url("file_review", dossier.pk),
                                  {"idempotency_key": key, "version": dossier.version + 1})
    assert submitted.status_code == 302
    assert submitted["Location"] == f"/ho-so-cua-toi/{dossier.pk}/?nop=1"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.SUBMITTED and dossier.code

    again = as_applicant.post(url("file_review", dossier.pk), {"idempotency_key": key})
    assert again["Location"] == f"/ho-so-cua-toi/{dossier.pk}/"  # no longer a draft


def test_a_second_click_with_the_same_key_replays_the_submission(as_applicant, draft, applicant):
    services.document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                             uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))
    as_applicant.post(url("file_review", draft.pk), {"idempotency_key": "k1"})
    Dossier.objects.filter(pk=draft.pk).update(state=Dossier.State.DRAFT)  # as if not yet seen

    replay = as_applicant.post(url("file_review", draft.pk), {"idempotency_key": "k1"})

    assert replay["Location"] == f"/ho-so-cua-toi/{draft.pk}/?nop=1"
    assert draft.transitions.filter(name="submit").count() == 1


# --- the form ------------------------------------------------------------------------------


def test_the_form_carries_the_schemas_checks_for_the_browser(as_applicant, draft):
    html = as_applicant.get(url("file_form", draft.pk)).content.decode()

    tax = field_html(html, "tax_code")
    assert 'class="required"' in tax and "MST" in tax
    assert 'pattern="^[0-9]{10}([0-9]{3})?$"' in tax and " required" in tax
    assert 'data-msg-pattern="«MST» không đúng định dạng."' in tax
    name = field_html(html, "applicant_name")
    assert 'minlength="1"' in name and 'value="Công ty TNHH Xăng dầu Đông Hà"' in name
    capacity = field_html(html, "capacity_m3")
    assert 'type="number"' in capacity and 'step="any"' in capacity and 'min="0"' in capacity
    assert 'data-msg-min="«Sức chứa» phải lớn hơn 0."' in capacity
    assert " required" not in capacity


def test_an_invalid_field_keeps_what_was_typed_and_says_why_next_to_it(as_applicant, draft):
    response = as_applicant.post(url("file_form", draft.pk), {
        "applicant_name": "Công ty Mới Gõ", "tax_code": "12AB", "capacity_m3": "7",
        "continue": "1",
    })

    assert response.status_code == 400
    html = response.content.decode()
    tax = field_html(html, "tax_code")
    assert 'value="12AB"' in tax
    assert 'aria-invalid="true"' in tax
    assert 'aria-describedby="id_tax_code-error"' in tax
    assert '<p class="field-error" id="id_tax_code-error">«MST» không đúng định dạng.</p>' in tax
    assert 'value="Công ty Mới Gõ"' in field_html(html, "applicant_name")
    assert 'value="7"' in field_html(html, "capacity_m3")
    assert "aria-invalid" not in field_html(html, "applicant_name")
    draft.refresh_from_db()
    assert draft.form_data == VALID_FORM  # nothing saved


def test_continuing_needs_the_required_fields_but_a_draft_may_be_saved_without(
    as_applicant, draft
):
    blocked = as_applicant.post(url("file_form", draft.pk),
                                {"applicant_name": "Công ty B", "continue": "1"})
    assert blocked.status_code == 400
    assert "Trường «MST» là bắt buộc." in field_html(blocked.content.decode(), "tax_code")

    saved = as_applicant.post(url("file_form", draft.pk),
                              {"applicant_name": "Công ty B", "save": "1"})
    assert saved["Location"] == url("file_form", draft.pk)
    draft.refresh_from_db()
    assert draft.form_data == {"applicant_name": "Công ty B"}


def test_a_number_that_is_not_one_is_refused_in_vietnamese(as_applicant, draft):
    response = as_applicant.post(url("file_form", draft.pk),
                                 {**VALID_FORM, "capacity_m3": "nhiều", "save": "1"})

    assert "«Sức chứa» phải là số." in field_html(response.content.decode(), "capacity_m3")


def test_a_form_saved_with_a_stale_version_changes_nothing(as_applicant, draft):
    response = as_applicant.post(url("file_form", draft.pk),
                                 {**VALID_FORM, "applicant_name": "Khác", "save": "1",
                                  "version": draft.version - 1 or 99})

    assert response.status_code == 400
    assert "vừa được người khác cập nhật" in response.content.decode()
    draft.refresh_from_db()
    assert draft.form_data == VALID_FORM


# --- documents -----------------------------------------------------------------------------


def test_documents_page_lists_each_component_with_what_it_needs(as_applicant, draft):
    html = as_applicant.get(url("file_documents", draft.pk)).content.decode()

    assert 'id="component-don_de_nghi"' in html and 'id="component-ban_ve"' in html
    assert "Bắt buộc" in html and "Không bắt buộc" in html
    assert 'hx-encoding="multipart/form-data"' in html and "<progress" in html
    assert "USB token" in html  # how real applicants sign
    assert url("file_review", draft.pk) in html  # "Tiếp tục" in a draft


def test_a_wrong_file_type_is_explained_next_to_its_component(as_applicant, draft):
    row = upload(as_applicant, draft, content=PNG_BYTES, name="anh.png", htmx=True)

    html = row.content.decode()
    assert html.lstrip().startswith('<section class="card component-row has-error" '
                                    'id="component-don_de_nghi"')
    assert "Định dạng tệp không được chấp nhận cho thành phần này." in html
    assert "Định dạng được chấp nhận: PDF." in html
    assert not Document.objects.exists()

    page = upload(as_applicant, draft, content=PNG_BYTES, name="anh.png")
    assert page.status_code == 400
    section = re.search(r'id="component-don_de_nghi".*?</section>', page.content.decode(), re.S)
    assert "Định dạng được chấp nhận: PDF." in section.group(0)


def test_a_pdf_with_javascript_is_refused_next_to_its_component(as_applicant, draft):
    hostile = PDF_BYTES.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(x)>>")

    html = upload(as_applicant, draft, content=hostile, htmx=True).content.decode()

    assert "mã thực thi" in html
    assert not Document.objects.exists()


def test_an_unsigned_file_where_a_signature_is_required_is_flagged(as_applicant, draft):
    draft.procedure.components.filter(code="don_de_nghi").update(must_be_signed=True)

    html = upload(as_applicant, draft, htmx=True).content.decode()

    assert "Không có chữ ký số" in html
    assert "phải được ký số: tệp đã tải lên chưa có chữ ký số" in html


def test_a_row_polls_while_the_signature_is_checked_and_stops_once_known(
    as_applicant, draft, applicant
):
    document = services.document_upload(dossier_id=draft.pk, actor=applicant,
                                        component_code="don_de_nghi",
                                        uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))
    Document.objects.filter(pk=document.pk).update(signature_checked_at=None)
    row_url = url("file_document_row", draft.pk, "don_de_nghi")

    pending = as_applicant.get(row_url).content.decode()
    assert 'hx-trigger="every 2s"' in pending and "Đang kiểm tra" in pending

    Document.objects.filter(pk=document.pk).update(
        signature_checked_at=document.created_at, signature_verdict="invalid",
        signature_report={"signatures": [{"verdict": "invalid", "advice": {
            "reason_vi": "Nội dung tệp đã bị thay đổi sau khi ký.",
            "action_vi": "Ký lại bản gốc chưa chỉnh sửa rồi nộp lại."}}]},
    )
    known = as_applicant.get(row_url).content.decode()
    assert "hx-trigger" not in known
    assert "Không hợp lệ" in known and "bị thay đổi sau khi ký" in known


def test_missing_required_document_blocks_submission_with_a_link_to_it(as_applicant, draft):
    response = as_applicant.post(url("file_review", draft.pk), {"idempotency_key": "k"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Hồ sơ còn thiếu thành phần bắt buộc." in html
    assert "Chưa tải lên thành phần bắt buộc «Đơn đề nghị»." in html
    assert f'{url("file_documents", draft.pk)}#component-don_de_nghi' in html
    draft.refresh_from_db()
    assert draft.state == Dossier.State.DRAFT


def test_an_invalid_form_blocks_submission_and_the_form_step_shows_it(as_applicant, draft,
                                                                      applicant):
    services.document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                             uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))
    Dossier.objects.filter(pk=draft.pk).update(form_data={"applicant_name": "Công ty C"})

    html = as_applicant.post(url("file_review", draft.pk)).content.decode()
    assert "Tờ khai: Trường «MST» là bắt buộc." in html
    link = f'{url("file_form", draft.pk)}?kiem-tra=1#id_tax_code'
    assert link in html

    form = as_applicant.get(url("file_form", draft.pk) + "?kiem-tra=1").content.decode()
    assert "Trường «MST» là bắt buộc." in field_html(form, "tax_code")
    assert 'value="Công ty C"' in field_html(form, "applicant_name")


def test_a_fee_due_at_submission_points_to_payment_first(as_applicant, applicant, agency):
    dossier = DossierFactory(applicant=applicant,
                             procedure=ProcedureFactory(agency=agency, fee_at_submission=True))

    html = as_applicant.get(url("file_review", dossier.pk)).content.decode()

    assert "1.200.000 đ" in html
    assert f'href="/ho-so-cua-toi/{dossier.pk}/thanh-toan/"' in html


# --- supplement and completion -------------------------------------------------------------


def test_supply_from_the_documents_page(as_applicant, applicant, procedure, specialist):
    dossier = DossierFactory(applicant=applicant, procedure=procedure, processing=True)
    services.dossier_request_supplement(dossier_id=dossier.pk, actor=specialist,
                                        reason="Bổ sung đơn đề nghị có chữ ký.")

    page = as_applicant.get(url("file_documents", dossier.pk)).content.decode()
    assert "Cơ quan yêu cầu bổ sung hồ sơ" in page
    assert "Bổ sung đơn đề nghị có chữ ký." in page and "Gửi bổ sung" in page

    refused = as_applicant.post(url("file_supply", dossier.pk))
    assert refused.status_code == 400
    assert "Chưa tải lên thành phần bắt buộc «Đơn đề nghị»." in refused.content.decode()

    upload(as_applicant, dossier)
    sent = as_applicant.post(url("file_supply", dossier.pk))
    assert sent["Location"] == f"/ho-so-cua-toi/{dossier.pk}/"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.PROCESSING


def test_resubmit_from_the_documents_page(as_applicant, applicant, procedure, reception):
    dossier = DossierFactory(applicant=applicant, procedure=procedure, submitted=True)
    services.dossier_return_for_completion(dossier_id=dossier.pk, actor=reception,
                                           reason="Thiếu đơn đề nghị.")

    page = as_applicant.get(url("file_documents", dossier.pk)).content.decode()
    assert "Thiếu đơn đề nghị." in page and "Nộp lại" in page
    upload(as_applicant, dossier)
    sent = as_applicant.post(url("file_resubmit", dossier.pk))

    assert sent["Location"] == f"/ho-so-cua-toi/{dossier.pk}/"
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.SUBMITTED


def test_a_submitted_dossier_is_no_longer_edited_here(as_applicant, applicant, procedure):
    dossier = DossierFactory(applicant=applicant, procedure=procedure, submitted=True)

    for name in ("file_form", "file_documents", "file_review"):
        response = as_applicant.get(url(name, dossier.pk))
        assert response["Location"] == f"/ho-so-cua-toi/{dossier.pk}/", name
    assert upload(as_applicant, dossier)["Location"] == f"/ho-so-cua-toi/{dossier.pk}/"
    assert not Document.objects.exists()


# --- who may ------------------------------------------------------------------------------


PAGES = ("file_form", "file_documents", "file_review")


def test_another_applicant_gets_404_and_changes_nothing(client, draft, other_applicant):
    client.force_login(other_applicant)

    for name in PAGES:
        assert client.get(url(name, draft.pk)).status_code == 404, name
        assert client.post(url(name, draft.pk), {"save": "1"}).status_code == 404, name
    assert client.get(url("file_document_row", draft.pk, "don_de_nghi")).status_code == 404
    assert client.post(url("file_supply", draft.pk)).status_code == 404
    assert client.post(url("file_resubmit", draft.pk)).status_code == 404
    assert upload(client, draft).status_code == 404
    draft.refresh_from_db()
    assert draft.state == Dossier.State.DRAFT and draft.form_data == VALID_FORM
    assert not Document.objects.exists()


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SPECIALIST, Role.MANAGER])
def test_officers_get_403(client, draft, agency, role):
    client.force_login(UserFactory(roles=[role], kind="staff", agency_code=agency.code))

    assert client.get(url("file_start", draft.procedure.pk)).status_code == 403
    for name in PAGES:
        assert client.get(url(name, draft.pk)).status_code == 403, name
    assert upload(client, draft).status_code == 403


# --- demo signing --------------------------------------------------------------------------


def test_without_demo_signing_there_is_no_button_and_the_endpoint_is_404(
    settings, as_applicant, draft, applicant
):
    settings.DEMO_SIGNING = False
    document = services.document_upload(dossier_id=draft.pk, actor=applicant,
                                        component_code="don_de_nghi",
                                        uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))

    html = as_applicant.get(url("file_documents", draft.pk)).content.decode()
    assert "Ký số (demo)" not in html
    assert as_applicant.post(url("file_demo_sign", draft.pk, document.pk)).status_code == 404
    assert Document.objects.count() == 1


def test_demo_signing_signs_the_pdf_as_a_new_version_verified_valid(
    settings, as_applicant, draft, applicant
):
    settings.DEMO_SIGNING = True
    draft.procedure.components.filter(code="don_de_nghi").update(must_be_signed=True)
    document = services.document_upload(dossier_id=draft.pk, actor=applicant,
                                        component_code="don_de_nghi",
                                        uploaded_file=SimpleUploadedFile("don.pdf", one_page_pdf()))
    page = as_applicant.get(url("file_documents", draft.pk)).content.decode()
    assert "Ký số (demo)" in page and url("file_demo_sign", draft.pk, document.pk) in page

    row = as_applicant.post(url("file_demo_sign", draft.pk, document.pk),
                            headers={"HX-Request": "true"}).content.decode()

    signed = Document.objects.get(dossier=draft, is_current=True)
    assert signed.version == 2 and signed.original_name == "don-da-ky.pdf"
    assert signed.signature_verdict == Document.Verdict.VALID
    assert signed.signature_problem == ""
    assert "Hợp lệ" in row and applicant.display_name in row
    assert "Ký số (demo)" not in row  # signed: nothing left to sign
    assert Document.objects.get(pk=document.pk).is_current is False


def test_another_applicant_cannot_demo_sign_someone_elses_file(
    settings, client, draft, applicant, other_applicant
):
    settings.DEMO_SIGNING = True
    document = services.document_upload(dossier_id=draft.pk, actor=applicant,
                                        component_code="don_de_nghi",
                                        uploaded_file=SimpleUploadedFile("don.pdf", one_page_pdf()))
    client.force_login(other_applicant)

    assert client.post(url("file_demo_sign", draft.pk, document.pk)).status_code == 404
    assert Document.objects.count() == 1

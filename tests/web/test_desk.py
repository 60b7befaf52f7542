"""The reception desk's pages: paper intake (this agency's procedure or another's), the
refusal notice handed over and the rating given at the desk, through the real services."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

import pytest

from dossiers.models import Document, Dossier, DossierTransition, Rating
from portal.models import User
from portal.roles import Role
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

INTAKE = reverse("web:officers:intake")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency, name="Cấp Giấy phép bán lẻ rượu")


def filled(**changes) -> dict:
    values = {
        "channel": "counter", "applicant_kind": "business", "applicant_name": "Công ty Minh An",
        "id_number": "3200999888", "phone": "0233 3852 111", "email": "",
        "address": "15 Lê Duẩn, Đông Hà", "on_behalf_name": "",
        "tk-applicant_name": "Công ty Minh An", "tk-tax_code": "3200999888",
        "scan_don_de_nghi": SimpleUploadedFile("don.pdf", PDF_BYTES, "application/pdf"),
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_the_page_lists_every_procedure_of_the_province_by_agency(reception, procedure):
    other = ProcedureFactory(agency=AgencyFactory(code="sxd", name="Sở Xây dựng"),
                             name="Cấp giấy phép xây dựng")
    response = client_for(reception).get(INTAKE)
    body = text(response)
    assert response.status_code == 200
    assert '<optgroup label="Sở Xây dựng">' in body and other.name in body
    assert procedure.name in body and "<h1>Tiếp nhận hồ sơ trực tiếp</h1>" in body

    response = client_for(reception).get(INTAKE, {"thu_tuc": procedure.pk})
    body = text(response)
    assert '<label for="id_scan_don_de_nghi" class="required">Đơn đề nghị' in body
    assert 'enctype="multipart/form-data"' in body and 'name="tk-tax_code"' in body


def test_a_walk_in_dossier_is_received_and_form_01_offered(reception, procedure):
    client = client_for(reception)
    response = client.post(f"{INTAKE}?thu_tuc={procedure.pk}", filled())

    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:officers:intake_done", args=[dossier.pk])
    assert dossier.state == "processing" and dossier.channel == "counter"
    assert dossier.form_data == {"applicant_name": "Công ty Minh An", "tax_code": "3200999888"}
    assert dossier.applicant.tax_code == "3200999888"
    assert Document.objects.get(dossier=dossier).digitized
    done = text(client.get(response["Location"]))
    receipt = reverse("web:officers:receipt_slip", args=[dossier.pk])
    assert f'href="{receipt}"' in done and "mẫu 01" in done
    assert client.get(receipt)["Content-Type"] == "application/pdf"


def test_bad_input_keeps_what_was_typed_and_changes_nothing(reception, procedure):
    users = User.objects.count()
    response = client_for(reception).post(
        f"{INTAKE}?thu_tuc={procedure.pk}",
        filled(id_number="12", phone="", **{"tk-tax_code": "abc"}, scan_don_de_nghi=None),
    )
    body = text(response)
    assert response.status_code == 400
    assert Dossier.objects.count() == 0 and User.objects.count() == users
    assert 'value="Công ty Minh An"' in body and 'value="12"' in body
    assert re.search(r'id="id_phone"[^>]*aria-invalid="true"', body) or re.search(
        r'aria-invalid="true"[^>]*id="id_phone"', body)
    assert 'id="id_phone_error"' in body

    response = client_for(reception).post(
        f"{INTAKE}?thu_tuc={procedure.pk}",
        filled(id_number="12", **{"tk-tax_code": "abc"}, scan_don_de_nghi=None),
    )
    body = text(response)
    assert response.status_code == 400 and Dossier.objects.count() == 0
    assert "Số CCCD gồm đúng 12 chữ số." not in body  # a business: the tax code rule
    assert "Mã số thuế gồm 10 chữ số" in body
    assert 'id="id_scan_don_de_nghi_error"' in body
    assert 'id="id_tk-tax_code-error"' in body


def test_another_agencys_procedure_is_handed_over(procedure, reception):
    centre = AgencyFactory(code="ttphvhcc", name="Trung tâm Phục vụ hành chính công")
    desk = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=centre.code)
    client = client_for(desk)
    form = text(client.get(INTAKE, {"thu_tuc": procedure.pk}))
    assert "Nghị định 118/2025/NĐ-CP" in form

    response = client.post(f"{INTAKE}?thu_tuc={procedure.pk}", filled(channel="post"))
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert dossier.state == "submitted" and dossier.reception_agency == centre
    assert DossierTransition.objects.filter(dossier=dossier, name="hand_over").exists()
    done = text(client.get(response["Location"]))
    assert "Hồ sơ đã được chuyển điện tử cho Sở Công Thương" in done
    # The handling agency's reception finds it in its queue.
    queue = text(client_for(reception).get(reverse("web:officers:queue")))
    assert dossier.code in queue


def test_only_reception_opens_the_desk_pages(specialist, applicant, procedure):
    assert client_for(specialist).get(INTAKE).status_code == 403
    assert client_for(applicant).get(INTAKE).status_code == 403
    assert Client().get(INTAKE).status_code == 302


def test_the_refusal_notice_is_handed_over_and_the_rating_recorded(reception, procedure):
    dossier = DossierFactory(procedure=procedure, result_ready=True, state="refused")
    client = client_for(reception)
    desk = reverse("web:officers:desk", args=[dossier.pk])
    assert "Ghi nhận đánh giá khi đã trả kết quả" in text(client.get(desk))

    response = client.post(reverse("web:officers:hand_over_refusal", args=[dossier.pk]))
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.returned_at is not None

    rate = reverse("web:officers:desk_rating", args=[dossier.pk])
    response = client.post(rate, {"comment": "Nhanh"})
    assert response.status_code == 400
    assert "Vui lòng chọn mức độ hài lòng." in text(response) and "Nhanh</textarea>" in text(response)
    assert not Rating.objects.exists()
    assert client.post(rate, {"score": "5", "comment": "Nhanh"}).status_code == 302
    rating = Rating.objects.get(dossier=dossier)
    assert (rating.score, rating.channel, rating.recorded_by) == (5, "desk", reception)
    assert "Điểm: 5/5" in text(client.get(desk))


def test_another_agencys_dossier_is_a_404(procedure):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    desk = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=other.code)
    dossier = DossierFactory(procedure=procedure, result_ready=True, state="refused")
    client = client_for(desk)
    assert client.get(reverse("web:officers:desk", args=[dossier.pk])).status_code == 404
    url = reverse("web:officers:hand_over_refusal", args=[dossier.pk])
    assert client.post(url).status_code == 404

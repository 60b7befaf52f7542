"""The desk endpoints: intake, the refusal notice handed over, the rating given at the desk."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import pytest

from dossiers.models import Dossier, Rating
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import VALID_FORM, DossierFactory, ProcedureFactory

INTAKE = reverse("api:dossiers:intake")


def body(procedure, **changes):
    values = {
        "procedure": procedure.pk, "channel": "counter", "applicant_kind": "citizen",
        "applicant_name": "Lê Văn Bình", "id_number": "045099001234", "phone": "0912345678",
        "address": "Đông Hà", "form_data": json.dumps(VALID_FORM),
        "scan_don_de_nghi": SimpleUploadedFile("don.pdf", PDF_BYTES, "application/pdf"),
    }
    return {**values, **changes}


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


def test_reception_registers_a_walk_in_dossier_and_gets_the_receipt(
    api_client_for, reception, procedure
):
    client = api_client_for(reception)
    response = client.post(INTAKE, body(procedure), format="multipart")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["received"] is True and data["handed_over_to"] is None
    dossier = Dossier.objects.get(pk=data["dossier"]["id"])
    assert dossier.state == "processing" and dossier.channel == "counter"
    receipt = client.get(data["receipt_url"])
    assert receipt.status_code == 200 and receipt.content[:5] == b"%PDF-"


def test_bad_input_is_a_400_naming_each_field(api_client_for, reception, procedure):
    response = api_client_for(reception).post(
        INTAKE, body(procedure, channel="online", id_number="12", form_data="{x",
                     scan_don_de_nghi=SimpleUploadedFile("a.txt", b"hi")),
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_form_data"
    assert Dossier.objects.count() == 0

    response = api_client_for(reception).post(
        INTAKE, body(procedure, channel="online", id_number="12",
                     scan_don_de_nghi=SimpleUploadedFile("a.txt", b"hi")),
        format="multipart",
    )
    fields = {e["field"] for e in response.json()["extra"]["errors"]}
    assert {"channel", "id_number", "scan_don_de_nghi"} <= fields


def test_applicants_and_specialists_cannot_register(api_client_for, applicant, specialist,
                                                    procedure):
    assert api_client_for(applicant).post(INTAKE, body(procedure)).status_code == 403
    assert api_client_for(specialist).post(INTAKE, body(procedure)).status_code == 403


def test_the_refusal_notice_and_the_desk_rating(api_client_for, reception, procedure):
    dossier = DossierFactory(procedure=procedure, processing=True, state="refused",
                             outcome="on_time")
    dossier.completed_at = dossier.received_at
    dossier.save()
    client = api_client_for(reception)
    rate = reverse("api:dossiers:desk_rating", args=[dossier.pk])
    assert client.post(rate, {"score": 4}).status_code == 409  # not handed over yet

    response = client.post(reverse("api:dossiers:hand_over_refusal", args=[dossier.pk]))
    assert response.status_code == 200 and response.json()["returned_at"]

    assert client.post(rate, {"score": 9}).status_code == 400
    response = client.post(rate, {"score": 4, "comment": "Hướng dẫn rõ ràng"})
    assert response.status_code == 201
    assert response.json() == {"score": 4, "comment": "Hướng dẫn rõ ràng", "channel": "desk"}
    assert Rating.objects.get(dossier=dossier).recorded_by == reception


def test_another_agency_cannot_reach_the_dossier(api_client_for, procedure):
    from portal.roles import Role
    from tests.dossiers.factories import AgencyFactory, UserFactory

    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    desk = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=other.code)
    dossier = DossierFactory(procedure=procedure, processing=True, state="refused",
                             outcome="on_time")
    url = reverse("api:dossiers:hand_over_refusal", args=[dossier.pk])
    assert api_client_for(desk).post(url).status_code == 404

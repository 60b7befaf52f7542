"""`GET /api/v1/dossiers/{id}/slips/<name>/`: the five slips as PDFs, scoped like the dossier,
409 when the slip does not apply to the dossier yet, and documented in the OpenAPI schema."""

from datetime import datetime, timedelta
from io import BytesIO

from django.core.management import call_command
from django.urls import reverse

import pytest
from pypdf import PdfReader

from dossiers import services
from dossiers.models import Dossier
from dossiers.services import slips
from dossiers.sla import VN_TZ
from portal import clock
from portal.roles import Role
from tests.dossiers.factories import DossierFactory, UserFactory

MONDAY = datetime(2025, 3, 3, 8, tzinfo=VN_TZ)


def url(name: str, dossier: Dossier) -> str:
    return reverse(f"api:dossiers:{name}_slip", args=[dossier.pk])


def text_of(response) -> str:
    return " ".join((page.extract_text() or "") for page in
                    PdfReader(BytesIO(response.content)).pages)


@pytest.fixture
def accepted(applicant, reception):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    return Dossier.objects.get(pk=dossier.pk)


def test_the_paths_are_the_issues(accepted):
    for name in slips.SLIP_NAMES:
        assert url(name, accepted) == f"/api/v1/dossiers/{accepted.pk}/slips/{name}/"


def test_a_received_dossier_has_its_receipt_and_control_slip_for_applicant_and_officers(
        accepted, applicant, reception, specialist, manager, api_client_for):
    for user in (applicant, reception, specialist, manager):
        for name in ("receipt", "control"):
            response = api_client_for(user).get(url(name, accepted))
            assert response.status_code == 200, (user, name)
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"].startswith("attachment; filename=")
            assert accepted.code in text_of(response)
    control = text_of(api_client_for(applicant).get(url("control", accepted)))
    assert "PHIẾU KIỂM SOÁT" in control and "Tiếp nhận hồ sơ" in control


def test_slips_that_do_not_apply_are_409_with_a_vietnamese_message(
        accepted, applicant, api_client_for):
    for name in ("completion", "refusal", "apology"):
        response = api_client_for(applicant).get(url(name, accepted))
        assert response.status_code == 409, name
        assert response.json()["code"] == "invalid_transition"
        assert "Hồ sơ" in response.json()["message"]
    submitted = DossierFactory(applicant=applicant, submitted=True)
    for name in ("receipt", "control"):
        assert api_client_for(applicant).get(url(name, submitted)).status_code == 409


def test_others_get_404_and_administrators_403(accepted, other_applicant, api_client_for):
    from dossiers.models import Agency

    Agency.objects.create(code="sxd", name="Sở Xây dựng")
    stranger = UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code="sxd")
    admin = UserFactory(roles=[Role.ADMIN], kind="staff")
    for name in slips.SLIP_NAMES:
        assert api_client_for(other_applicant).get(url(name, accepted)).status_code == 404
        assert api_client_for(stranger).get(url(name, accepted)).status_code == 404
        assert api_client_for(admin).get(url(name, accepted)).status_code == 403
        assert api_client_for().get(url(name, accepted)).status_code in (401, 403)


def test_the_completion_and_refusal_slips_once_they_apply(
        applicant, reception, api_client_for):
    returned = DossierFactory(applicant=applicant, submitted=True)
    refused = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_return_for_completion(
            dossier_id=returned.pk, actor=reception,
            reason="Đơn đề nghị chưa ký: người đại diện theo pháp luật phải ký.")
        services.dossier_refuse_at_reception(dossier_id=refused.pk, actor=reception,
                                             reason="Không thuộc thẩm quyền của Sở.")

    completion = api_client_for(applicant).get(url("completion", returned))
    refusal = api_client_for(applicant).get(url("refusal", refused))

    assert completion.status_code == 200 and refusal.status_code == 200
    assert "người đại diện theo pháp luật phải ký" in " ".join(text_of(completion).split())
    assert "Không thuộc thẩm quyền của Sở." in text_of(refusal)
    assert api_client_for(applicant).get(url("refusal", returned)).status_code == 409


def test_the_supplement_request_slip_gives_the_reply_deadline(
        applicant, reception, specialist, api_client_for, pdf_file):
    dossier = DossierFactory(applicant=applicant, submitted=True)
    with clock.frozen_at(MONDAY):
        services.dossier_accept(dossier_id=dossier.pk, actor=reception)
    with clock.frozen_at(MONDAY + timedelta(hours=1)):
        services.dossier_request_supplement(dossier_id=dossier.pk, actor=specialist,
                                            reason="Bản vẽ mặt bằng có xác nhận.")
    body = " ".join(text_of(api_client_for(applicant).get(url("completion", dossier))).split())
    # 10 working days from Monday 09:00.
    assert "Thời hạn bổ sung, hoàn thiện hồ sơ: trước 09 giờ 00 phút, ngày 17 tháng 3" in body


def test_each_slip_is_in_the_openapi_schema_as_a_pdf_with_its_errors(db, tmp_path):
    import yaml

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    schema = yaml.safe_load(target.read_text())
    for name in slips.SLIP_NAMES:
        operation = schema["paths"][f"/api/v1/dossiers/{{dossier_id}}/slips/{name}/"]["get"]
        assert "application/pdf" in operation["responses"]["200"]["content"]
        assert {"403", "404", "409"} <= set(operation["responses"])

"""The pages outside the API: home, health, the OpenAPI schema and docs, and the admin."""

from datetime import date, datetime, timedelta
from io import StringIO

from django.contrib import admin
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

import pytest

from dossiers.admin import ReadOnlyAdmin
from dossiers.models import (
    DossierTransition,
    HolidayOverride,
    InboundCall,
    OutboundMessage,
    Payment,
    Procedure,
)
from dossiers.services import (
    apology_approve,
    apology_draft,
    catalog_load,
    document_upload,
    dossier_accept,
    dossier_approve,
    dossier_issue_result,
    dossier_propose,
    dossier_resume,
    dossier_submit,
    dossier_suspend,
    idempotency_store,
    payment_confirm,
    payment_start,
    rating_create,
)
from dossiers.sla import VN_TZ
from integrations.models import ProcedureCodeMapping
from portal import clock
from signatures import devpki
from signatures.services import (
    issued_document_record,
    revocation_record_store,
    trust_anchor_import,
)
from tests.dossiers.factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

DEMO_MARK = "(giả định demo)"


# --- home ---------------------------------------------------------------------------------


def test_home_page_lists_every_active_procedure_of_the_catalog(client):
    procedures = catalog_load()

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for procedure in procedures:
        assert f"<td>{escape(procedure.name)}<div" in html, procedure.name
        assert escape(procedure.agency.name) in html
    assert "Chưa có thủ tục nào" not in html


def test_home_page_marks_values_that_are_demo_assumptions(client):
    procedures = catalog_load()
    marked = sum(
        ("processing_days" in p.demo_assumptions) + ("fee_vnd" in p.demo_assumptions)
        for p in procedures
    )
    assert marked > 0

    response = client.get("/")

    assert response.content.decode().count(DEMO_MARK) == marked


def test_home_page_does_not_mark_procedures_without_demo_assumptions(client):
    ProcedureFactory(name="Thủ tục có số liệu đã xác nhận", demo_assumptions=[])

    response = client.get("/")

    assert "Thủ tục có số liệu đã xác nhận" in response.content.decode()
    assert DEMO_MARK not in response.content.decode()


def test_home_page_hides_procedures_no_longer_in_force(client):
    procedures = catalog_load()
    retired = procedures[0]
    Procedure.objects.filter(pk=retired.pk).update(is_active=False)

    response = client.get("/")

    assert f"<td>{escape(retired.name)}<div" not in response.content.decode()
    assert f"<td>{escape(procedures[1].name)}<div" in response.content.decode()


def test_home_page_with_an_empty_catalog_says_how_to_load_it(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "Chưa có thủ tục nào" in response.content.decode()


# --- health, schema, docs -------------------------------------------------------------------


def test_health_check_answers_ok(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.decode().startswith("openapi: 3")


def test_openapi_schema_describes_the_dossier_endpoints(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Một Cửa API"
    upload = reverse("api:dossiers:upload", args=[123]).replace("123", "{dossier_id}")
    download = reverse("api:dossiers:download", args=[123]).replace("123", "{document_id}")
    assert "post" in schema["paths"][upload]
    assert "get" in schema["paths"][download]


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO()
    )

    assert out.read_text(encoding="utf-8").startswith("openapi: 3")


def test_api_docs_page_is_served(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert reverse("schema") in html


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_data(applicant, reception, specialist, leader, pdf_file):
    """One object of every model the admin shows, written through the services."""
    HolidayOverride.objects.create(
        date=date(2030, 1, 2), kind=HolidayOverride.Kind.DAY_OFF, reason="Nghỉ bù"
    )
    procedure = ProcedureFactory(fee_at_submission=True)
    dossier = DossierFactory(procedure=procedure, applicant=applicant)
    document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )
    payment = payment_start(dossier_id=dossier.pk, actor=applicant)
    payment_confirm(
        provider=payment.provider, provider_reference=payment.provider_reference,
        amount=payment.amount, confirmed_by="provider:fake",
    )
    monday = datetime(2025, 3, 3, 8, 0, tzinfo=VN_TZ)
    with clock.frozen_at(monday):
        dossier_submit(dossier_id=dossier.pk, actor=applicant)
        dossier = dossier_accept(dossier_id=dossier.pk, actor=reception)
    with clock.frozen_at(monday + timedelta(hours=1)):
        dossier_suspend(dossier_id=dossier.pk, actor=specialist, reason="Chờ ý kiến liên ngành")
    with clock.frozen_at(monday + timedelta(hours=2)):
        dossier = dossier_resume(dossier_id=dossier.pk, actor=specialist)
        apology_draft(
            dossier_id=dossier.pk, actor=specialist,
            new_appointment_at=dossier.due_at + timedelta(days=2), reason="Cần xác minh thêm",
        )
        apology_approve(dossier_id=dossier.pk, actor=leader)
        dossier_propose(dossier_id=dossier.pk, actor=specialist)
        dossier_approve(dossier_id=dossier.pk, actor=leader)
        dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="12/GCN-SCT")
    rating_create(dossier_id=dossier.pk, actor=applicant, score=5, comment="Nhanh")
    idempotency_store(
        user=applicant, key="khoa-1", scope=f"submit:{dossier.pk}", fingerprint="0" * 64,
        status=200, body={"id": dossier.pk},
    )
    InboundCall.objects.create(source="national", key="k-1", request_hash="0" * 64,
                               response_status=201, response_body={"id": dossier.pk})
    ProcedureCodeMapping.objects.create(system="national", local_code="2.000648",
                                        remote_code="2.000648.000.00.00.H52")
    now = timezone.now()
    root = devpki.make_root("SCT Root", not_before=now - timedelta(days=1),
                            not_after=now + timedelta(days=365))
    trust_anchor_import(data=root.pem, scope="government")
    revocation_record_store(
        source="http://crl.example/r.crl",
        data=devpki.make_crl(root, this_update=now - timedelta(minutes=1),
                             next_update=now + timedelta(days=1)),
    )
    issued_document_record(content=b"%PDF signed", filename="kq.pdf", reference="1/GP-SCT",
                           code="c1", signer_subject="SCT", signer_backend="pkcs12",
                           level="B-B")
    assert Payment.objects.filter(status=Payment.Status.PAID).exists()
    assert DossierTransition.objects.filter(dossier=dossier).exists()
    assert OutboundMessage.objects.filter(dossier=dossier).exists()
    return dossier


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_admin_site_registers_the_domain_models():
    labels = {model._meta.label for model, _ in REGISTERED}

    assert {"dossiers.Dossier", "dossiers.Procedure", "dossiers.DossierTransition",
            "dossiers.Document", "portal.User"} <= labels


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED]
)
def test_admin_pages_render_for_a_superuser(admin_client, admin_user, admin_data, model,
                                            model_admin):
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    request = _admin_request(admin_user)

    changelist = admin_client.get(reverse(f"{name}_changelist"))
    assert changelist.status_code == 200

    if model_admin.search_fields:
        searched = admin_client.get(reverse(f"{name}_changelist"), {"q": "SCT"})
        assert searched.status_code == 200

    add = admin_client.get(reverse(f"{name}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)

    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"admin_data should create a {opts.label}"
    change = admin_client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert change.context["original"] == obj


READ_ONLY = [(m, a) for m, a in REGISTERED if isinstance(a, ReadOnlyAdmin)]


@pytest.mark.parametrize(
    ("model", "model_admin"), READ_ONLY, ids=[m._meta.label for m, _ in READ_ONLY]
)
def test_admin_records_written_by_services_cannot_be_edited_by_hand(
    admin_client, admin_data, model, model_admin
):
    obj = model._default_manager.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    response = admin_client.post(url, {})

    assert response.status_code == 403
    assert model_to_dict(model._default_manager.get(pk=obj.pk)) == model_to_dict(obj)


def test_admin_changelist_is_not_open_to_applicants(client, applicant):
    client.force_login(applicant)

    response = client.get(reverse("admin:dossiers_dossier_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_unknown_api_url_answers_the_json_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Không tìm thấy địa chỉ yêu cầu.",
                               "extra": {}}


def test_unknown_page_stays_a_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")

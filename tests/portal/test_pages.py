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
    Document,
    Dossier,
    DossierTransition,
    HolidayOverride,
    InboundCall,
    OutboundMessage,
    Payment,
    PersonalDataAccess,
    Procedure,
    Unit,
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


def _listed(procedure) -> str:
    """How the catalog on the home page lists a procedure: its name, linking to its page."""
    return f'<a href="/thu-tuc/{procedure.pk}/">{escape(procedure.name)}</a>'


def test_home_page_lists_every_active_procedure_of_the_catalog(client):
    procedures = catalog_load()

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for procedure in procedures:
        assert _listed(procedure) in html, procedure.name
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

    assert _listed(retired) not in response.content.decode()
    assert _listed(procedures[1]) in response.content.decode()


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
    # The start-up script is a file of its own (the page has no inline script), naming the schema.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert reverse("schema") in script.content.decode()


def test_api_docs_load_nothing_from_another_host(client):
    """Government networks block CDNs: every script, style and icon is one of our static files."""
    import re

    from django.conf import settings
    from django.contrib.staticfiles import finders

    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', html)

    assert assets, html
    for asset in assets:
        if asset == "/api/docs/?script=":
            continue  # the page's own start-up script, served by the portal
        assert asset.startswith("/" + settings.STATIC_URL.lstrip("/")), asset
        assert finders.find(asset.split("/" + settings.STATIC_URL.lstrip("/"), 1)[1]), asset


# --- admin ----------------------------------------------------------------------------------


# What a dossier holds, written into every record of the admin data: no admin page shows it.
HELD_IN_DOSSIERS = {
    "form": "Công ty TNHH Kho Xăng Bí Mật",
    "on_behalf": "Người Được Ủy Quyền Riêng",
    "file": "giay-to-tuy-than-rieng.pdf",
    "suspension": "Chờ ý kiến liên ngành về hồ sơ riêng",
    "apology": "Cần xác minh thêm thông tin riêng",
    "rating": "Nhận xét riêng của người dân",
    "answer": "Câu trả lời mang dữ liệu riêng",
}


@pytest.fixture
def admin_data(applicant, reception, specialist, leader, pdf_file):
    """One object of every model the admin may hold, written through the services, and every
    dossier record next to them."""
    HolidayOverride.objects.create(
        date=date(2030, 1, 2), kind=HolidayOverride.Kind.DAY_OFF, reason="Nghỉ bù"
    )
    applicant.full_name, applicant.citizen_id = "Nguyễn Thị Người Nộp Riêng", "038190000123"
    applicant.save()
    procedure = ProcedureFactory(fee_at_submission=True)
    dossier = DossierFactory(
        procedure=procedure, applicant=applicant, on_behalf_name=HELD_IN_DOSSIERS["on_behalf"],
        form_data={"applicant_name": HELD_IN_DOSSIERS["form"], "tax_code": "3200123456"},
    )
    document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(name=HELD_IN_DOSSIERS["file"]),
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
        dossier_suspend(dossier_id=dossier.pk, actor=specialist,
                        reason=HELD_IN_DOSSIERS["suspension"])
    with clock.frozen_at(monday + timedelta(hours=2)):
        dossier = dossier_resume(dossier_id=dossier.pk, actor=specialist)
        apology_draft(
            dossier_id=dossier.pk, actor=specialist,
            new_appointment_at=dossier.due_at + timedelta(days=2),
            reason=HELD_IN_DOSSIERS["apology"],
        )
        apology_approve(dossier_id=dossier.pk, actor=leader)
        dossier_propose(dossier_id=dossier.pk, actor=specialist)
        dossier_approve(dossier_id=dossier.pk, actor=leader)
        dossier_issue_result(dossier_id=dossier.pk, actor=leader, number="12/GCN-SCT")
    rating_create(dossier_id=dossier.pk, actor=applicant, score=5,
                  comment=HELD_IN_DOSSIERS["rating"])
    idempotency_store(
        user=applicant, key="khoa-1", scope=f"submit:{dossier.pk}", fingerprint="0" * 64,
        status=200, body={"id": dossier.pk, "form_data": dossier.form_data},
    )
    InboundCall.objects.create(
        source="national", key="k-1", request_hash="0" * 64, response_status=422,
        response_body={"id": dossier.pk, "detail": HELD_IN_DOSSIERS["answer"]},
    )
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
    Unit.objects.create(agency=procedure.agency, code="qltm", name="Phòng Quản lý thương mại")
    PersonalDataAccess.objects.create(
        at=clock.now(), user=specialist, user_label=specialist.display_name,
        dossier=dossier, what=PersonalDataAccess.What.DOSSIER, route="api:dossiers:detail",
        path=f"/api/v1/dossiers/{dossier.pk}/", ip="127.0.0.1",
    )
    return dossier


def _held_in(dossier) -> list[str]:
    applicant = dossier.applicant
    return [*HELD_IN_DOSSIERS.values(), applicant.full_name, applicant.citizen_id,
            applicant.username]


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_admin_site_registers_the_configuration():
    labels = {model._meta.label for model, _ in REGISTERED}

    assert {"dossiers.Agency", "dossiers.Procedure", "dossiers.HolidayOverride",
            "dossiers.OutboundMessage", "signatures.TrustedCertificate",
            "integrations.StatusMapping", "portal.User"} <= labels


# Records of a dossier the administrator still needs, and the fields of content they drop.
# The personal-data access log shows who read which dossier, never what the dossier holds.
METADATA_ONLY = {OutboundMessage: {"payload"}, PersonalDataAccess: set()}


def _belongs_to_a_dossier(model) -> bool:
    return model is Dossier or any(
        field.related_model is Dossier for field in model._meta.get_fields() if field.concrete
    )


def test_no_record_of_a_dossier_is_in_the_admin_but_the_outbox_metadata(admin_user):
    request = _admin_request(admin_user)
    registered = [(m, a) for m, a in REGISTERED if _belongs_to_a_dossier(m)]

    assert {m for m, _ in registered} == set(METADATA_ONLY)
    for model, model_admin in registered:
        obj = model()
        shown = set(model_admin.get_fields(request, obj)) | set(model_admin.list_display)
        assert not shown & METADATA_ONLY[model], model._meta.label


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

    obj = model_admin.get_queryset(request).order_by("pk").first()
    assert obj is not None, f"admin_data should create a {opts.label}"
    change = admin_client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert change.context["original"] == obj


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED]
)
def test_no_admin_page_shows_what_a_dossier_holds(admin_client, admin_user, admin_data, model,
                                                  model_admin):
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    objects = model_admin.get_queryset(_admin_request(admin_user)).order_by("pk")[:20]

    pages = [admin_client.get(reverse(f"{name}_changelist")),
             *(admin_client.get(reverse(f"{name}_change", args=[o.pk])) for o in objects)]

    if model_admin.search_fields:  # nor answers a search for it
        for held in _held_in(admin_data):
            found = admin_client.get(reverse(f"{name}_changelist"), {"q": held})
            assert found.context["cl"].result_count == 0, held
    for page in pages:
        html = page.content.decode()
        for held in _held_in(admin_data):
            assert escape(held) not in html and held not in html, (page.request["PATH_INFO"], held)


def test_the_dossier_admin_pages_are_gone_for_superusers_too(admin_client, admin_data):
    for model in (Dossier, Document, Payment):
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"

        assert admin_client.get(url).status_code == 404
        assert admin_client.get(f"{url}{admin_data.pk}/change/").status_code == 404


def test_accounts_added_in_the_admin_are_officers_and_applicants_are_not_listed(
    admin_client, admin_data
):
    from portal.models import User

    added = admin_client.post(reverse("admin:portal_user_add"), {
        "username": "chuyenvien2", "password1": "mat-khau-dai-2025!", "password2":
        "mat-khau-dai-2025!", "usable_password": "true",
    })
    officer = User.objects.get(username="chuyenvien2")
    listing = admin_client.get(reverse("admin:portal_user_changelist")).content.decode()
    applicant_page = admin_client.get(
        reverse("admin:portal_user_change", args=[admin_data.applicant_id]))

    assert added.status_code == 302
    assert officer.kind == User.Kind.STAFF
    assert "chuyenvien2" in listing
    assert admin_data.applicant.username not in listing
    assert applicant_page.status_code == 302  # Django's answer for an object it does not show


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

    response = client.get(reverse("admin:dossiers_procedure_changelist"))

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

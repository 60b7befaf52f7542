"""Officers' reads of personal data are recorded, append-only (Decree 13/2023/NĐ-CP)."""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

import pytest

from dossiers.models import Document, PersonalDataAccess
from portal.roles import Role
from tests.conftest import PDF_BYTES

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dossier(agency, applicant):
    return DossierFactory(processing=True, applicant=applicant,
                          procedure=ProcedureFactory(agency=agency))


@pytest.fixture
def document(dossier, applicant):
    return Document.objects.create(
        dossier=dossier, component=dossier.procedure.components.get(code="don_de_nghi"),
        file=ContentFile(PDF_BYTES, name="don.pdf"), original_name="don.pdf",
        sha256="0" * 64, size=len(PDF_BYTES), content_type="application/pdf",
        uploaded_by=applicant,
    )


def _page_client(user) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    return client


def test_an_officers_api_read_of_a_dossier_is_recorded(api_client_for, dossier, specialist):
    response = api_client_for(specialist).get(reverse("api:dossiers:detail", args=[dossier.pk]),
                                              REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    row = PersonalDataAccess.objects.get()
    assert (row.user, row.dossier, row.what, row.document) == (specialist, dossier, "dossier",
                                                               None)
    assert row.route == "api:dossiers:detail"
    assert row.path == f"/api/v1/dossiers/{dossier.pk}/"
    assert row.ip == "198.51.100.4"
    assert row.user_label == specialist.display_name


def test_an_officers_api_download_names_the_document(api_client_for, document, reception):
    response = api_client_for(reception).get(reverse("api:dossiers:download",
                                                     args=[document.pk]))

    assert response.status_code == 200
    row = PersonalDataAccess.objects.get()
    assert (row.what, row.document, row.dossier) == ("document", document, document.dossier)
    assert row.route == "api:dossiers:download"


def test_the_workspace_page_and_its_download_are_recorded(document, leader):
    client = _page_client(leader)

    page = client.get(reverse("web:officers:dossier", args=[document.dossier_id]))
    download = client.get(reverse("web:officers:document", args=[document.pk]))

    assert (page.status_code, download.status_code) == (200, 200)
    rows = list(PersonalDataAccess.objects.order_by("id").values_list(
        "route", "what", "document_id", "ip", "user_id"))
    assert rows == [
        ("web:officers:dossier", "dossier", None, "203.0.113.7", leader.pk),
        ("web:officers:document", "document", document.pk, "203.0.113.7", leader.pk),
    ]


def test_the_applicant_reading_their_own_dossier_is_not_recorded(api_client_for, document,
                                                                 applicant):
    client = api_client_for(applicant)

    assert client.get(reverse("api:dossiers:detail", args=[document.dossier_id])).status_code == 200
    assert client.get(reverse("api:dossiers:download", args=[document.pk])).status_code == 200
    assert not PersonalDataAccess.objects.exists()


def test_a_refused_read_records_nothing(api_client_for, dossier):
    other = AgencyFactory(code="sxd", name="Sở Xây dựng")
    stranger = UserFactory(roles=[Role.LEADER], kind="staff", agency_code=other.code)

    response = api_client_for(stranger).get(reverse("api:dossiers:detail", args=[dossier.pk]))

    assert response.status_code == 404
    assert not PersonalDataAccess.objects.exists()


@pytest.fixture
def row(api_client_for, dossier, specialist):
    api_client_for(specialist).get(reverse("api:dossiers:detail", args=[dossier.pk]))
    return PersonalDataAccess.objects.get()


def test_a_row_is_never_changed_or_deleted(row):
    row.route = "sua-lai"
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        row.delete()
    with pytest.raises(ValidationError):
        PersonalDataAccess.objects.filter(pk=row.pk).update(route="sua-lai")
    with pytest.raises(ValidationError):
        PersonalDataAccess.objects.all().delete()

    row.refresh_from_db()
    assert row.route == "api:dossiers:detail"


@pytest.mark.postgres
def test_the_database_refuses_raw_changes_on_postgresql(row):
    from django.db import DatabaseError

    for sql in ("UPDATE dossiers_personaldataaccess SET route = 'x'",
                "DELETE FROM dossiers_personaldataaccess"):
        with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(sql)
    assert PersonalDataAccess.objects.filter(route="api:dossiers:detail").count() == 1


def test_the_admin_shows_the_log_and_offers_no_change(row):
    admin_user = UserFactory(is_superuser=True, is_staff=True, kind="staff")
    client = Client()
    client.force_login(admin_user)
    base = "admin:dossiers_personaldataaccess"

    listing = client.get(reverse(f"{base}_changelist"))
    detail = client.get(reverse(f"{base}_change", args=[row.pk]))
    changed = client.post(reverse(f"{base}_change", args=[row.pk]), {"route": "x"})
    add = client.get(reverse(f"{base}_add"))
    delete = client.post(reverse(f"{base}_delete", args=[row.pk]), {"post": "yes"})

    assert listing.status_code == 200
    assert row.user_label in listing.content.decode()
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert changed.status_code == 403
    assert add.status_code == 403
    assert delete.status_code == 403
    assert PersonalDataAccess.objects.filter(pk=row.pk, route="api:dossiers:detail").exists()

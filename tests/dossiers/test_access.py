"""Administrators configure the portal: no read of the API shows them a dossier (DESIGN §1), and
the indicators and their exports are for managers and leaders."""

from django.core.files.base import ContentFile
from django.urls import URLResolver, get_resolver, reverse

import pytest

from dossiers.models import Document, Payment
from portal.roles import Role
from tests.conftest import PDF_BYTES

from .factories import DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET_FORM_VALUE = "Công ty TNHH Bí Mật Riêng Tư"
SECRET_FILE_NAME = "can-cuoc-cong-dan-rieng.pdf"


@pytest.fixture
def contents(agency, applicant, specialist):
    """An overdue dossier with everything a dossier carries, and the words that must not leak."""
    dossier = DossierFactory(
        overdue=True, applicant=applicant, assignee=specialist,
        procedure=ProcedureFactory(agency=agency),
        form_data={"applicant_name": SECRET_FORM_VALUE, "tax_code": "3200123456"},
    )
    document = Document.objects.create(
        dossier=dossier, component=dossier.procedure.components.get(code="don_de_nghi"),
        file=ContentFile(PDF_BYTES, name="don.pdf"), original_name=SECRET_FILE_NAME,
        sha256="0" * 64, size=len(PDF_BYTES), content_type="application/pdf",
        uploaded_by=applicant,
    )
    payment = Payment.objects.create(dossier=dossier, amount=1_200_000, mode="before",
                                     channel="online", provider="fake")
    ids = {"dossier_id": dossier.pk, "document_id": document.pk, "payment_id": payment.pk,
           "procedure_id": dossier.procedure_id, "group": "progress", "count": "all"}
    words = [dossier.code, SECRET_FORM_VALUE, SECRET_FILE_NAME, applicant.display_name,
             specialist.display_name]
    return ids, words


def _api_reads(resolver=None, namespace=""):
    """(name, URL kwargs) of every named route of the API."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _api_reads(pattern, inner)
        elif pattern.name and namespace.startswith("api:"):
            converters = getattr(pattern.pattern, "converters", None)
            kwargs = list(converters or pattern.pattern.regex.groupindex)
            yield f"{namespace}{pattern.name}", kwargs


API_READS = sorted(_api_reads())


def _administrators(agency):
    return {
        "administrator": UserFactory(roles=[Role.ADMIN], kind="staff"),
        "administrator of the agency": UserFactory(roles=[Role.ADMIN], kind="staff",
                                                   agency_code=agency.code),
        "superuser": UserFactory(is_superuser=True, is_staff=True, kind="staff"),
    }


def test_the_api_has_routes_to_walk():
    names = {name for name, _ in API_READS}

    assert {"api:dossiers:detail", "api:dossiers:overdue_csv", "api:dossiers:indicators_csv",
            "api:dossiers:download"} <= names


@pytest.mark.parametrize(("name", "kwargs"), API_READS, ids=[n for n, _ in API_READS])
def test_no_api_read_shows_an_administrator_a_dossier(
    api_client_for, agency, contents, name, kwargs
):
    ids, words = contents
    url = reverse(name, kwargs={k: ids[k] for k in kwargs})

    for who, user in _administrators(agency).items():
        response = api_client_for(user).get(url)
        body = response.content.decode("utf-8", "replace")
        for word in words:
            assert word not in body, f"{who} reads {word!r} at {url} ({response.status_code})"


EXPORTS = ["api:dossiers:indicators", "api:dossiers:indicators_csv", "api:dossiers:overdue_csv"]


@pytest.mark.parametrize("name", EXPORTS)
def test_administrators_get_403_on_the_indicators_and_exports(
    api_client_for, agency, contents, name
):
    for who, user in _administrators(agency).items():
        response = api_client_for(user).get(reverse(name))

        assert response.status_code == 403, who
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("name", EXPORTS)
def test_managers_and_leaders_read_the_indicators_and_exports(
    api_client_for, contents, manager, leader, name
):
    provincial_manager = UserFactory(roles=[Role.MANAGER], kind="staff")
    for user in (manager, leader, provincial_manager):
        assert api_client_for(user).get(reverse(name)).status_code == 200


def test_the_overdue_list_names_the_dossier_to_its_agencys_manager(
    api_client_for, contents, manager
):
    _, words = contents

    response = api_client_for(manager).get(reverse("api:dossiers:overdue_csv"))
    body = b"".join(response.streaming_content).decode()

    assert words[0] in body  # the same request an administrator is refused answers here


def test_no_filter_of_the_dossier_list_shows_an_administrator_a_dossier(
    api_client_for, agency, contents
):
    ids, words = contents
    filters = [{"agency": agency.code}, {"overdue": "true"}, {"procedure": ids["procedure_id"]},
               {"code": words[0]}]

    for who, user in _administrators(agency).items():
        for params in filters:
            response = api_client_for(user).get(reverse("api:dossiers:list"), params)
            assert response.status_code == 200, (who, params)
            assert response.json() == {"results": [], "next_cursor": None}, (who, params)

"""Personas, API clients and a helper for small valid files."""

from django.test import Client
from django.utils import translation

import pytest
from rest_framework.test import APIClient

from dossiers.models import Agency
from portal.roles import Role

from .dossiers.factories import AgencyFactory, UserFactory
from .second_factor import force_login_verified

# The smallest files whose type the sniffer recognises from content.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _default_language():
    """A page asked for in English leaves English active in the thread; the next test starts
    from the portal's language again."""
    yield
    translation.activate("vi")


@pytest.fixture(autouse=True)
def _staff_sessions_pass_the_second_factor(monkeypatch):
    """`client.force_login(officer)` stands for a whole sign-in, second factor included (see
    tests/second_factor.py); tests of the second step use `force_login_unverified`."""
    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture
def agency(db) -> Agency:
    return AgencyFactory()


@pytest.fixture
def applicant(db):
    return UserFactory(roles=[Role.APPLICANT], kind="business", tax_code="3200123456")


@pytest.fixture
def other_applicant(db):
    return UserFactory(roles=[Role.APPLICANT])


@pytest.fixture
def reception(agency):
    return UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code=agency.code)


@pytest.fixture
def specialist(agency):
    return UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code=agency.code)


@pytest.fixture
def leader(agency):
    return UserFactory(roles=[Role.LEADER], kind="staff", agency_code=agency.code)


@pytest.fixture
def manager(agency):
    return UserFactory(roles=[Role.MANAGER], kind="staff", agency_code=agency.code)


@pytest.fixture
def officer(reception):
    return reception


@pytest.fixture
def supervisor(manager):
    return manager


@pytest.fixture
def api_client_for():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def pdf_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    def make(name="don.pdf", content=PDF_BYTES, content_type="application/pdf"):
        return SimpleUploadedFile(name, content, content_type=content_type)

    return make


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need row locks and real concurrent transactions."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); .ci/run provides one")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def frozen(db):
    """Freeze the services' clock at an aware instant: `with frozen(vn(2025, 3, 3, 8)):`."""
    from portal import clock

    return clock.frozen_at

"""The test PKI (built once per run) and a trust store holding its roots and CRLs."""

import pytest

from signatures.models import TrustedCertificate
from signatures.services import revocation_record_store, trust_anchor_import

from .pki import build_pki, one_page_pdf


@pytest.fixture(scope="session")
def pki():
    return build_pki()


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    return one_page_pdf()


@pytest.fixture
def trust_store(db, pki):
    scope = TrustedCertificate.Scope
    trust_anchor_import(data=pki.root.pem, scope=scope.PUBLIC)
    trust_anchor_import(data=pki.ca.pem, scope=scope.PUBLIC)
    trust_anchor_import(data=pki.gov_root.pem, scope=scope.GOVERNMENT)
    trust_anchor_import(data=pki.tsa_root.pem, scope=scope.TIMESTAMPING)
    for source, der in pki.crls().items():
        revocation_record_store(source=source, data=der)
    return pki

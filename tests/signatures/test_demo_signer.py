"""The demo signer: a demo CA in the database signs an applicant's PDF, and the verifier trusts
it only because the demo put its root, marked demo, in the trust store."""

import pytest

from signatures.demo_signing import DEMO_TRUST_NOTE, demo_identity_ensure, demo_pdf_sign
from signatures.exceptions import SignerNotConfigured
from signatures.models import DemoSigningKey, TrustedCertificate
from signatures.report import Verdict
from signatures.services import signature_verify
from tests.dossiers.factories import UserFactory

from .pki import one_page_pdf


@pytest.fixture
def business(db):
    return UserFactory(roles=["applicant"], kind="business", full_name="Công ty TNHH Ánh Dương",
                       tax_code="3200123456")


def test_signing_gives_a_pdf_the_verifier_finds_valid_and_signed_by_the_applicant(
    settings, business
):
    settings.DEMO_SIGNING = True
    original = one_page_pdf()

    signed = demo_pdf_sign(content=original, user=business)

    assert signed.startswith(original)  # an incremental update: the original bytes untouched
    result = signature_verify(content=signed, filename="don.pdf",
                              expected_ids=[business.tax_code])
    assert result.verdict == Verdict.VALID
    (report,) = result.signatures
    assert report.signer.name == "Công ty TNHH Ánh Dương"
    assert report.signer.tax_code == "3200123456"
    assert report.matches_applicant is True
    assert report.root_scope == TrustedCertificate.Scope.PUBLIC
    assert report.revocation_status == "good"
    assert report.coverage == "entire_file"
    assert result.as_dict()["review"] == []


def test_the_demo_root_is_in_the_trust_store_marked_as_demo_and_made_once(settings, business):
    settings.DEMO_SIGNING = True
    other = UserFactory(roles=["applicant"], citizen_id="046095001234", full_name="Lê Văn B")

    demo_pdf_sign(content=one_page_pdf(), user=business)
    demo_pdf_sign(content=one_page_pdf(), user=business)
    demo_pdf_sign(content=one_page_pdf(), user=other)

    roots = DemoSigningKey.objects.filter(kind=DemoSigningKey.Kind.ROOT)
    assert roots.count() == 1
    assert DemoSigningKey.objects.filter(kind=DemoSigningKey.Kind.PERSON).count() == 2
    (anchor,) = TrustedCertificate.objects.all()
    assert anchor.note == DEMO_TRUST_NOTE and "DEMO" in anchor.note
    assert anchor.role == TrustedCertificate.Role.ROOT
    assert anchor.subject == roots.get().subject
    assert "CCCD:046095001234" in demo_identity_ensure(user=other).subject


def test_without_the_demo_root_trusted_the_same_file_is_not_valid(settings, business):
    settings.DEMO_SIGNING = True
    signed = demo_pdf_sign(content=one_page_pdf(), user=business)

    TrustedCertificate.objects.update(enabled=False)

    result = signature_verify(content=signed, filename="don.pdf",
                              expected_ids=[business.tax_code])
    assert result.verdict != Verdict.VALID


def test_signing_is_refused_when_demo_signing_is_off(settings, business):
    settings.DEMO_SIGNING = False

    with pytest.raises(SignerNotConfigured):
        demo_pdf_sign(content=one_page_pdf(), user=business)

    assert not DemoSigningKey.objects.exists()
    assert not TrustedCertificate.objects.exists()

"""The admin of the trust store, the revocation cache and the issued-documents register."""

from django.urls import reverse

import pytest

from signatures.models import IssuedDocument, RevocationRecord, TrustedCertificate
from signatures.services import issued_document_record


@pytest.fixture
def rows(trust_store):
    issued_document_record(content=b"%PDF-1.7 signed", filename="kq.pdf", reference="1/GP-SCT",
                           code="abc123", signer_subject="Sở Công Thương", signer_backend="pkcs12",
                           level="B-B")


@pytest.mark.parametrize("model", [TrustedCertificate, RevocationRecord, IssuedDocument])
def test_admin_pages_render_and_records_stay_as_services_wrote_them(admin_client, rows, model):
    name = f"admin:signatures_{model._meta.model_name}"
    obj = model.objects.order_by("pk").first()

    assert admin_client.get(reverse(f"{name}_changelist"), {"q": "SCT"}).status_code == 200
    assert admin_client.get(reverse(f"{name}_add")).status_code == 403
    assert admin_client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200
    before = model.objects.filter(pk=obj.pk).values().get()
    admin_client.post(reverse(f"{name}_change", args=[obj.pk]), {"subject": "changed"})
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_the_disable_action_takes_an_anchor_out_of_the_trust_store(admin_client, rows, pki,
                                                                      plain_pdf):
    from signatures.services import signature_verify

    from .pki import sign_pdf

    root = TrustedCertificate.objects.get(fingerprint_sha256=pki.root.asn1().sha256.hex())
    admin_client.post(reverse("admin:signatures_trustedcertificate_changelist"),
                      {"action": "disable", "_selected_action": [root.pk]})

    report = signature_verify(content=sign_pdf(plain_pdf, pki.leaves["business"]),
                              filename="x.pdf").signatures[0]
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"

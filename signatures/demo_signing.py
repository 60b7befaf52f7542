"""DEMO ONLY: sign an applicant's PDF with a certificate in their name from a demo CA.

Turned on by the DEMO_SIGNING setting (the demo sets it; deployments never do). Real applicants
sign with their own USB token or a remote signing service and upload the signed PDF. The demo
CA and the applicants' keys live in the database (`DemoSigningKey`); the CA's root goes into the
trust store, marked as demo, when it is first made, so the demo's verifier trusts what it signs.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from io import BytesIO

from django.conf import settings
from django.db import IntegrityError, transaction

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from portal import clock

from . import devpki
from .exceptions import SignerNotConfigured, SigningFailed
from .models import DemoSigningKey, TrustedCertificate
from .signers import LoadedKeySigner
from .truststore import revocation_record_store, trust_anchor_import

DEMO_ROOT_NAME = "Demo CA người nộp hồ sơ (thử nghiệm)"
DEMO_TRUST_NOTE = "DEMO: CA ký số thử nghiệm cho người nộp hồ sơ (DEMO_SIGNING), không dùng thật"
DEMO_FIELD = "ChuKySoThuNghiem"


def _common_name(text: str) -> str:
    """At most the 64 bytes of UTF-8 a certificate's common name may hold."""
    data = text.encode()[:64]
    return data.decode(errors="ignore").strip()


def demo_signing_enabled() -> bool:
    return bool(getattr(settings, "DEMO_SIGNING", False))


def _issued(row: DemoSigningKey) -> devpki.Issued:
    cert = x509.load_der_x509_certificate(bytes(row.certificate_der))
    return devpki.Issued(cert=cert, key=_demo_key(bytes(row.private_key_pem)))


@functools.lru_cache(maxsize=256)
def _demo_key(private_key_pem: bytes):
    """A demo key parsed once per process (parsing checks an RSA key: tens of ms)."""
    return serialization.load_pem_private_key(private_key_pem, password=None)


def _store(*, kind: str, issued: devpki.Issued, user=None) -> DemoSigningKey:
    row = DemoSigningKey(
        kind=kind, user=user, subject=issued.asn1().subject.human_friendly[:1000],
        certificate_der=issued.der,
        private_key_pem=issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    row.full_clean()
    row.save()
    return row


def demo_root_ensure() -> DemoSigningKey:
    """The demo CA, made on first use; its root is trusted (public scope, marked demo) and an
    empty CRL of it is cached, so revocation checks of what it issued pass offline."""
    row = DemoSigningKey.objects.filter(kind=DemoSigningKey.Kind.ROOT).first()
    if row is not None:
        return row
    now = clock.now()
    root = devpki.make_root(DEMO_ROOT_NAME, not_before=now - timedelta(days=1),
                            not_after=now + timedelta(days=3650),
                            organisation="Một Cửa (demo)")
    try:
        with transaction.atomic():
            row = _store(kind=DemoSigningKey.Kind.ROOT, issued=root)
            trust_anchor_import(data=root.pem, scope=TrustedCertificate.Scope.PUBLIC,
                                note=DEMO_TRUST_NOTE)
            revocation_record_store(
                source=f"demo-applicant-ca:{root.asn1().sha256.hex()[:16]}",
                data=devpki.make_crl(root, this_update=now - timedelta(minutes=5),
                                     next_update=now + timedelta(days=3650)),
            )
    except IntegrityError:  # made at the same moment by another request
        return DemoSigningKey.objects.get(kind=DemoSigningKey.Kind.ROOT)
    return row


def demo_identity_ensure(*, user) -> DemoSigningKey:
    """The applicant's demo certificate: their name, and their tax code (UID "MST:…") and
    citizen ID (serialNumber "CCCD:…") as Vietnamese CAs write them."""
    row = DemoSigningKey.objects.filter(kind=DemoSigningKey.Kind.PERSON, user=user).first()
    if row is not None:
        return row
    root = _issued(demo_root_ensure())
    now = clock.now()
    name = _common_name(user.display_name or user.username)
    issued = devpki.issue(
        root, name, not_before=now - timedelta(days=1), not_after=now + timedelta(days=730),
        uid=f"MST:{user.tax_code}" if user.tax_code else None,
        serial_number=f"CCCD:{user.citizen_id}" if user.citizen_id else None,
    )
    try:
        with transaction.atomic():
            return _store(kind=DemoSigningKey.Kind.PERSON, issued=issued, user=user)
    except IntegrityError:
        return DemoSigningKey.objects.get(kind=DemoSigningKey.Kind.PERSON, user=user)


def _signer(person: DemoSigningKey, root: DemoSigningKey) -> signers.SimpleSigner:
    issued = _issued(person)
    return LoadedKeySigner.from_key(
        signing_cert=asn1_x509.Certificate.load(issued.der), private_key=issued.key,
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(bytes(root.certificate_der))]
        ),
    )


def demo_pdf_sign(*, content: bytes, user) -> bytes:
    """The PDF with one more PAdES signature (B-B, invisible) by the user's demo certificate;
    refused unless DEMO_SIGNING is on."""
    if not demo_signing_enabled():
        raise SignerNotConfigured("Ký số thử nghiệm (demo) chưa được bật.",
                                  extra={"setting": "DEMO_SIGNING"})
    person = demo_identity_ensure(user=user)
    root = demo_root_ensure()
    meta = signers.PdfSignatureMetadata(
        field_name=f"{DEMO_FIELD}{person.pk}", md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Ký số thử nghiệm (demo) – không có giá trị pháp lý",
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(content), strict=False)
        return signers.sign_pdf(writer, meta, signer=_signer(person, root)).getvalue()
    except Exception as exc:  # noqa: BLE001 - any PDF pyHanko cannot extend
        raise SigningFailed("Không ký được tệp PDF này.",
                            extra={"error": f"{type(exc).__name__}: {exc}"[:200]}) from exc

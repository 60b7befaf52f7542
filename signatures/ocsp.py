"""OCSP responses for the revocation cache: fetched by us, only from allowlisted responders,
and stored only when the certificate's issuer (or its delegated responder) signed them."""

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.db import transaction

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from portal import clock

from .exceptions import RevocationHostNotAllowed
from .models import RevocationRecord, TrustedCertificate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcspTarget:
    """A certificate whose status we want, with the issuer that answers for it."""

    cert: x509.Certificate
    issuer: x509.Certificate

    @property
    def urls(self) -> list[str]:
        try:
            aia = self.cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        except x509.ExtensionNotFound:
            return []
        return [d.access_location.value for d in aia.value
                if d.access_method == AuthorityInformationAccessOID.OCSP]


def _verify_signed_by(cert: x509.Certificate, data: bytes, signature: bytes,
                      algorithm: hashes.HashAlgorithm) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(algorithm))
    else:
        raise InvalidSignature("unsupported responder key")


def _responder(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    """The issuer itself, or a responder certificate it issued for OCSP signing."""
    for cert in response.certificates:
        if cert.issuer != issuer.subject:
            continue
        try:
            cert.verify_directly_issued_by(issuer)
            usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in usage:
            return cert
    return issuer


def ocsp_response_verified(*, data: bytes, target: OcspTarget) -> ocsp.OCSPResponse:
    """The response, parsed, once it is successful, about this certificate and signed by its
    issuer or the issuer's delegated responder; ValueError otherwise."""
    response = ocsp.load_der_ocsp_response(data)
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"OCSP responder answered {response.response_status.name}")
    if response.serial_number != target.cert.serial_number:
        raise ValueError("OCSP response is about another certificate")
    responder = _responder(response, target.issuer)
    try:
        _verify_signed_by(responder, response.tbs_response_bytes, response.signature,
                          response.signature_hash_algorithm)
    except InvalidSignature as exc:
        raise ValueError("OCSP response signature does not verify") from exc
    return response


@transaction.atomic
def ocsp_response_store(*, source: str, data: bytes, target: OcspTarget) -> RevocationRecord:
    response = ocsp_response_verified(data=data, target=target)
    row, _ = RevocationRecord.objects.update_or_create(
        kind=RevocationRecord.Kind.OCSP, source=source,
        defaults={"der": data, "sha256": hashlib.sha256(data).hexdigest(),
                  "this_update": response.this_update_utc,
                  "next_update": response.next_update_utc, "fetched_at": clock.now(),
                  "last_error": ""},
    )
    return row


def _http_post(url: str, body: bytes) -> bytes:
    limit = settings.SIGNATURES_REVOCATION_MAX_BYTES
    with requests.post(url, data=body, timeout=settings.SIGNATURES_REVOCATION_TIMEOUT,
                       headers={"Content-Type": "application/ocsp-request"}, stream=True,
                       allow_redirects=False) as response:
        response.raise_for_status()
        data = response.raw.read(limit + 1, decode_content=True)
    if len(data) > limit:
        raise ValueError(f"response larger than {limit} bytes")
    return data


def ocsp_refresh(
    *, targets: Iterable[OcspTarget], post: Callable[[str, bytes], bytes] | None = None,
) -> dict[str, str]:
    """Ask each target's responder (allowlisted hosts only); source -> "stored" or the error."""
    from .services import host_allowed

    post = post or _http_post
    outcome: dict[str, str] = {}
    for target in targets:
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(target.cert, target.issuer, hashes.SHA1())  # noqa: S303 - CertID  # nosec B303  # RFC 6960's CertID hash
            .build().public_bytes(serialization.Encoding.DER)
        )
        for url in target.urls:
            source = f"{url}#{target.cert.serial_number:x}"
            if not host_allowed(url, settings.SIGNATURES_REVOCATION_HOSTS):
                outcome[source] = RevocationHostNotAllowed.code
                continue
            try:
                ocsp_response_store(source=source, data=post(url, request), target=target)
                outcome[source] = "stored"
                break
            except Exception as exc:  # noqa: BLE001 - one responder must not stop the others
                log.warning("OCSP %s failed: %s", source, exc)
                outcome[source] = f"error: {exc}"[:300]
    return outcome


def _trusted_certificates() -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(bytes(row.der))
            for row in TrustedCertificate.objects.filter(enabled=True).only("der")]


def _pair(cert: x509.Certificate, candidates: list[x509.Certificate]) -> OcspTarget | None:
    for issuer in candidates:
        if issuer.subject != cert.issuer or issuer == cert:
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return OcspTarget(cert=cert, issuer=issuer)
    return None


def ocsp_targets_in_trust_store() -> list[OcspTarget]:
    """Our intermediates, each with the CA above it."""
    certs = _trusted_certificates()
    targets = (_pair(c, certs) for c in certs if c.issuer != c.subject)
    return [t for t in targets if t is not None and t.urls]


def ocsp_targets_in_pdf(content: bytes) -> list[OcspTarget]:
    """The signers of a PDF's signatures, each with an issuer that chains to our trust store
    (the certificates inside the file are only candidates: the issuer must verify them)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(content), strict=False)
    trusted = _trusted_certificates()
    targets = []
    for sig in reader.embedded_signatures:
        embedded = [x509.load_der_x509_certificate(c.chosen.dump())
                    for c in sig.signed_data["certificates"]]
        signer = x509.load_der_x509_certificate(sig.signer_cert.dump())
        target = _pair(signer, trusted + embedded)
        if target is not None and target.urls:
            targets.append(target)
    return targets


def ocsp_refresh_for_pdf(content: bytes, *, post=None) -> dict[str, str]:
    """Fetch fresh OCSP answers for the signers of a PDF; the caller re-verifies it after."""
    try:
        targets = ocsp_targets_in_pdf(content)
    except Exception as exc:  # noqa: BLE001 - an unreadable file has nothing to refresh
        return {"": f"error: {exc}"[:300]}
    return ocsp_refresh(targets=targets, post=post)

"""Writes and orchestration of signatures: verify, trust store, revocation cache, sign results."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

import requests
from asn1crypto import x509 as asn1_x509
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

from portal import clock

from .exceptions import RevocationHostNotAllowed, UnsupportedFormat
from .models import IssuedDocument, RevocationRecord, TrustedCertificate
from .report import Verdict, VerificationResult
from .results import ResultContent, result_pdf_render
from .selectors import ALL_SIGNER_SCOPES, issued_document_exists, trust_material
from .signers import ResultSigner, configured_signer, configured_timestamper, pdf_sign
from .truststore import (  # noqa: F401 - the trust store's writes are services too
    load_certificates,
    revocation_record_store,
    trust_anchor_import,
    trust_anchor_set_enabled,
)
from .verifiers import DetachedCmsVerifier, PadesVerifier, VerifyContext, failure_report

log = logging.getLogger(__name__)

# --- verification ---------------------------------------------------------------------------


def is_pdf(content: bytes) -> bool:
    return b"%PDF-" in content[:1024]


def signature_verify(
    *,
    content: bytes,
    filename: str,
    detached: bytes | None = None,
    expected_ids: Iterable[str] | None = None,
    scopes: Iterable[str] | None = None,
) -> VerificationResult:
    """Verify every signature of a PDF, or a detached CMS over `content`; never raises for a
    bad signature, only for a file that is neither (UnsupportedFormat)."""
    digest = hashlib.sha256(content).hexdigest()
    context = VerifyContext(
        material=trust_material(),
        scopes=tuple(scopes or ALL_SIGNER_SCOPES),
        expected_ids=frozenset(i for i in expected_ids if i) if expected_ids is not None
        else None,
    )
    readable = True
    if detached is not None:
        kind = "cms"
        reports = DetachedCmsVerifier().verify(content=content, detached=detached,
                                               context=context)
    else:
        if not is_pdf(content):
            raise UnsupportedFormat(extra={"filename": filename})
        kind = "pdf"
        try:
            reports = PadesVerifier().verify(content=content, detached=None, context=context)
        except Exception as exc:  # noqa: BLE001 - the file itself cannot be read
            readable = False
            reports = _unreadable_pdf_reports(content, exc)
    return VerificationResult(
        filename=filename, sha256=digest, kind=kind, signatures=tuple(reports),
        issued_by_us=issued_document_exists(sha256=digest), readable=readable,
    )


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _unreadable_pdf_reports(content: bytes, exc: Exception) -> list:
    """A PDF whose structure cannot be read: a signature whose signed bytes are not all there
    is invalid; anything else goes to an officer."""
    ranges = [tuple(map(int, m.groups())) for m in _BYTE_RANGE.finditer(content)]
    if not ranges and b"/ByteRange" not in content:
        return []
    detail = f"{type(exc).__name__}: {exc}"[:500]
    broken = not ranges or any(c + d > len(content) for _a, _b, c, d in ranges)
    if broken or b"%%EOF" not in content[-1024:]:
        return [failure_report(index=0, field_name="", kind="pades", verdict=Verdict.INVALID,
                               sub_indication="FORMAT_FAILURE", advice="format", detail=detail)]
    return [failure_report(index=0, field_name="", kind="pades", verdict=Verdict.INDETERMINATE,
                           sub_indication="GENERIC", advice="manual_review", detail=detail)]


# --- revocation cache -----------------------------------------------------------------------


def host_allowed(url: str, allowlist: Iterable[str]) -> bool:
    """Only http(s) URLs on an allowlisted host (optionally host:port) are ever fetched."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    with_port = f"{host}:{parts.port}" if parts.port else host
    allowed = {entry.lower() for entry in allowlist}
    return host in allowed or with_port in allowed


def _crl_urls(cert: asn1_x509.Certificate) -> list[str]:
    urls = []
    for point in cert.crl_distribution_points:
        for name in point["distribution_point"].chosen if point["distribution_point"] else ():
            if name.name == "uniform_resource_identifier":
                urls.append(name.native)
    return urls


def revocation_sources() -> list[str]:
    """CRL URLs from settings and from the CA certificates in our trust store (never from
    uploaded certificates)."""
    urls = list(settings.SIGNATURES_CRL_URLS)
    for row in TrustedCertificate.objects.filter(enabled=True):
        urls.extend(_crl_urls(asn1_x509.Certificate.load(bytes(row.der))))
    return list(dict.fromkeys(urls))


def revocation_cache_refresh(
    *, sources: Iterable[str] | None = None, fetch: Callable[[str], bytes] | None = None,
) -> dict[str, str]:
    """Fetch each CRL from allowlisted hosts only; returns source -> "stored" or the error."""
    allowlist = settings.SIGNATURES_REVOCATION_HOSTS
    fetch = fetch or _http_fetch
    outcome = {}
    for url in sources if sources is not None else revocation_sources():
        if not host_allowed(url, allowlist):
            outcome[url] = RevocationHostNotAllowed.code
            continue
        try:
            revocation_record_store(source=url, data=fetch(url))
            outcome[url] = "stored"
        except Exception as exc:  # noqa: BLE001 - one bad source must not stop the others
            log.warning("revocation source %s failed: %s", url, exc)
            RevocationRecord.objects.filter(source=url).update(last_error=str(exc)[:1000])
            outcome[url] = f"error: {exc}"[:300]
    return outcome


def _http_fetch(url: str) -> bytes:
    limit = settings.SIGNATURES_REVOCATION_MAX_BYTES
    with requests.get(url, timeout=settings.SIGNATURES_REVOCATION_TIMEOUT, stream=True,
                      allow_redirects=False) as response:
        response.raise_for_status()
        data = response.raw.read(limit + 1, decode_content=True)
    if len(data) > limit:
        raise ValueError(f"response larger than {limit} bytes")
    return data


# --- signing results ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedResult:
    content: bytes
    sha256: str
    level: str  # "B-B" or "B-T"
    code: str
    verify_url: str
    issued: IssuedDocument


def verify_url_for(code: str) -> str:
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/xac-thuc/?ma={code}"


def result_issue(
    *,
    result: ResultContent,
    filename: str,
    signer: ResultSigner | None = None,
    timestamper=None,
) -> SignedResult:
    """Render a result PDF, sign it (PAdES B-T with a TSA, B-B without) and register its hash."""
    signer = signer or configured_signer()
    subject = signer.pyhanko_signer().signing_cert.subject
    code = secrets.token_urlsafe(12)
    rendered = result_pdf_render(
        result=result, verify_url=verify_url_for(code), signed_at=clock.now(),
        signer_subject=subject.native.get("common_name") or subject.human_friendly,
    )
    return result_sign(
        content=rendered.content, filename=filename, reference=result.number, code=code,
        stamp_box=rendered.stamp_box, page=rendered.page, location=result.place,
        signer=signer, timestamper=timestamper,
    )


def result_sign(
    *,
    content: bytes,
    filename: str,
    reference: str,
    code: str,
    stamp_box: tuple[float, float, float, float],
    page: int,
    location: str = "",
    signer: ResultSigner | None = None,
    timestamper=None,
) -> SignedResult:
    """Sign a rendered result over its stamp box and register the hash of what we signed."""
    signer = signer or configured_signer()
    pyhanko_signer = signer.pyhanko_signer()
    timestamper = timestamper if timestamper is not None else configured_timestamper()
    field_name = "ChuKyCoQuan"
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=f"Phát hành kết quả {reference}",
            location=location or None,
        ),
        signer=pyhanko_signer,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(field_name, box=stamp_box, on_page=page),
        # The stamp is drawn on the page with a Vietnamese font; the widget stays blank.
        stamp_style=TextStampStyle(stamp_text=" ", border_width=0, background=None),
    )
    signed = pdf_sign(content=content, pdf_signer=pdf_signer, timestamper=timestamper)
    level = "B-T" if timestamper is not None else "B-B"
    issued = issued_document_record(
        content=signed, filename=filename, reference=reference, code=code,
        signer_subject=pyhanko_signer.signing_cert.subject.human_friendly,
        signer_backend=signer.identifier, level=level,
    )
    return SignedResult(content=signed, sha256=issued.sha256, level=level, code=code,
                        verify_url=verify_url_for(code), issued=issued)


def issued_document_record(
    *, content: bytes, filename: str, reference: str, code: str, signer_subject: str,
    signer_backend: str, level: str,
) -> IssuedDocument:
    document = IssuedDocument(
        sha256=hashlib.sha256(content).hexdigest(), filename=filename[:255],
        reference=reference[:128], code=code, signer_subject=signer_subject[:1000],
        signer_backend=signer_backend, level=level, issued_at=clock.now(),
    )
    document.full_clean()
    document.save()
    return document


def issued_document_discard(*, sha256: str) -> int:
    """Forget a signed document that was never released (its issuing step failed after
    signing), so the public verifier does not call it ours."""
    return IssuedDocument.objects.filter(sha256=sha256).delete()[0]

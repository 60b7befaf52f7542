"""Reads of the trust store and the revocation cache, parsed once per change of either."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.registry import SimpleTrustManager

from portal.prepared import Prepared

from .models import IssuedDocument, RevocationRecord, TrustedCertificate

ALL_SIGNER_SCOPES = (TrustedCertificate.Scope.PUBLIC, TrustedCertificate.Scope.GOVERNMENT)


@dataclass(frozen=True)
class RevocationEntry:
    source: str
    kind: str
    revoked_at: datetime | None


@dataclass
class TrustMaterial:
    """Parsed certificates and revocation data, shared read-only between validations."""

    roots: dict[str, list[asn1_x509.Certificate]] = field(default_factory=dict)
    intermediates: list[asn1_x509.Certificate] = field(default_factory=list)
    root_scope: dict[str, str] = field(default_factory=dict)  # sha256 hex -> scope
    crls: list[asn1_crl.CertificateList] = field(default_factory=list)
    ocsps: list[asn1_ocsp.OCSPResponse] = field(default_factory=list)
    # (issuer name sha256, serial) -> what our cache says about that certificate
    revoked: dict[tuple[bytes, int], RevocationEntry] = field(default_factory=dict)
    covered_issuers: dict[bytes, str] = field(default_factory=dict)  # issuer -> CRL source
    ocsp_answers: dict[int, RevocationEntry] = field(default_factory=dict)  # serial -> answer

    # The roots of each set of scopes as the path builder takes them, made on first use: a
    # validation context built from the bare certificates wraps and indexes each root again.
    _managers: dict[tuple[str, ...], SimpleTrustManager] = field(default_factory=dict)

    def roots_for(self, scopes: Iterable[str]) -> list[asn1_x509.Certificate]:
        return [cert for scope in scopes for cert in self.roots.get(scope, [])]

    def trust_manager_for(self, scopes: Iterable[str]) -> SimpleTrustManager:
        """The roots of `scopes` for pyHanko's path builder, made once per material (it is only
        read by the validations that share it)."""
        key = tuple(scopes)
        manager = self._managers.get(key)
        if manager is None:
            manager = SimpleTrustManager.build(trust_roots=self.roots_for(key))
            self._managers[key] = manager
        return manager

    def revocation_of(self, cert: asn1_x509.Certificate) -> RevocationEntry | None:
        """What our own cache says about `cert`: revoked, good (revoked_at None) or nothing."""
        issuer_key = cert.issuer.sha256
        hit = self.revoked.get((issuer_key, cert.serial_number))
        if hit is not None:
            return hit
        answer = self.ocsp_answers.get(cert.serial_number)
        if answer is not None:
            return answer
        source = self.covered_issuers.get(issuer_key)
        if source is not None:
            return RevocationEntry(source=source, kind="crl", revoked_at=None)
        return None


_lock = threading.Lock()
_cached: tuple[tuple, TrustMaterial] | None = None


def _version_sql() -> str:
    quote = connection.ops.quote_name
    parts = []
    for model in (TrustedCertificate, RevocationRecord):
        table = quote(model._meta.db_table)
        stamp = quote(model._meta.get_field("updated_at").column)
        parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX({stamp}) FROM {table})")  # nosec B608  # the models' own quoted names
    return "SELECT " + ", ".join(parts)


def _version() -> tuple:
    """How many certificates and revocation records there are and when either last changed,
    in one statement (each verification asks; two ORM aggregates were a quarter of it)."""
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        return tuple(cursor.fetchone())


def _build() -> TrustMaterial:
    material = TrustMaterial()
    for row in TrustedCertificate.objects.filter(enabled=True).only("role", "scope", "der"):
        cert = asn1_x509.Certificate.load(bytes(row.der))
        if row.role == TrustedCertificate.Role.ROOT:
            material.roots.setdefault(row.scope, []).append(cert)
            material.root_scope[cert.sha256.hex()] = row.scope
        else:
            material.intermediates.append(cert)
    for row in RevocationRecord.objects.only("kind", "source", "der"):
        if row.kind == RevocationRecord.Kind.CRL:
            crl = asn1_crl.CertificateList.load(bytes(row.der))
            material.crls.append(crl)
            issuer_key = crl.issuer.sha256
            material.covered_issuers[issuer_key] = row.source
            for revoked in crl["tbs_cert_list"]["revoked_certificates"]:
                material.revoked[(issuer_key, revoked["user_certificate"].native)] = (
                    RevocationEntry(row.source, "crl", revoked["revocation_date"].native)
                )
        else:
            response = asn1_ocsp.OCSPResponse.load(bytes(row.der))
            material.ocsps.append(response)
            basic = response.basic_ocsp_response
            for single in basic["tbs_response_data"]["responses"]:
                status = single["cert_status"]
                revoked_at = (
                    status.chosen["revocation_time"].native if status.name == "revoked" else None
                )
                material.ocsp_answers[single["cert_id"]["serial_number"].native] = (
                    RevocationEntry(row.source, "ocsp", revoked_at)
                )
    return material


def trust_material() -> TrustMaterial:
    """The parsed trust store and revocation cache, rebuilt only when either changed."""
    global _cached
    version = _version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        material = _build()
        _cached = (version, material)
    return material


def issued_document_by_code(*, code: str) -> IssuedDocument | None:
    """The result a QR code points at, if we issued it."""
    return IssuedDocument.objects.filter(code=code[:32]).first() if code else None


# Compiled once per process: every verification asks whether we issued the file.
_ISSUED = Prepared(lambda *, shape, sha256: IssuedDocument.objects.filter(sha256=sha256).only(
    "pk").order_by()[:1], sha256=str)


def issued_document_exists(*, sha256: str) -> bool:
    return bool(_ISSUED.rows(sha256=str(sha256)))

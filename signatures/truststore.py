"""The trust store and the revocation cache: what verification trusts, written only here.

Both the services and the agency's demo signer write through these, so neither imports the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import transaction

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from portal import clock

from .exceptions import InvalidCertificate
from .models import RevocationRecord, TrustedCertificate

# --- trust store ----------------------------------------------------------------------------


def load_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM bundle, or the one in a DER file."""
    try:
        if pem.detect(data):
            return [asn1_x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, True)]
        cert = asn1_x509.Certificate.load(data)
        _ = cert.subject.native, cert.public_key.native  # force a parse now
        return [cert]
    except Exception as exc:
        raise InvalidCertificate(extra={"error": str(exc)[:200]}) from exc


@transaction.atomic
def trust_anchor_import(
    *, data: bytes, scope: str, role: str | None = None, note: str = ""
) -> list[TrustedCertificate]:
    """Add (or update) certificates in the trust store; self-signed ones become roots."""
    if scope not in TrustedCertificate.Scope.values:
        raise InvalidCertificate(extra={"scope": scope})
    saved = []
    for cert in load_certificates(data):
        self_signed = cert.self_signed in ("maybe", "yes")
        if not (self_signed or cert.ca) and role is None:
            raise InvalidCertificate("Không phải chứng thư của tổ chức chứng thực (CA).",
                                     extra={"subject": cert.subject.human_friendly})
        validity = cert["tbs_certificate"]["validity"]
        row, _created = TrustedCertificate.objects.get_or_create(
            fingerprint_sha256=cert.sha256.hex(),
            defaults={"der": cert.dump(), "scope": scope,
                      "not_before": validity["not_before"].native,
                      "not_after": validity["not_after"].native},
        )
        row.role = role or (TrustedCertificate.Role.ROOT if self_signed
                            else TrustedCertificate.Role.INTERMEDIATE)
        row.scope = scope
        row.subject = cert.subject.human_friendly[:1000]
        row.issuer = cert.issuer.human_friendly[:1000]
        row.serial_hex = format(cert.serial_number, "x")
        row.enabled = True
        row.note = note or row.note
        row.full_clean()
        row.save()
        saved.append(row)
    return saved


@transaction.atomic
def trust_anchor_set_enabled(*, ids: Iterable[int], enabled: bool) -> int:
    """Take certificates out of (or back into) the trust store without deleting them."""
    rows = TrustedCertificate.objects.select_for_update().filter(pk__in=list(ids))
    count = 0
    for row in rows:
        row.enabled = enabled
        row.save(update_fields=["enabled", "updated_at"])
        count += 1
    return count


# --- revocation cache -----------------------------------------------------------------------


def _crl_issuer_verified(data: bytes) -> asn1_crl.CertificateList:
    """The CRL, parsed, once its signature checks out against a CA in our trust store."""
    crl = x509.load_der_x509_crl(data)
    for row in TrustedCertificate.objects.filter(enabled=True):
        issuer = x509.load_der_x509_certificate(bytes(row.der))
        if issuer.subject != crl.issuer:
            continue
        try:
            if crl.is_signature_valid(issuer.public_key()):
                return asn1_crl.CertificateList.load(data)
        except (InvalidSignature, TypeError, ValueError):
            continue
    raise ValueError(f"no trusted issuer for CRL of {crl.issuer.rfc4514_string()}")


@transaction.atomic
def revocation_record_store(*, source: str, data: bytes) -> RevocationRecord:
    """Store a CRL we obtained ourselves, after checking who signed it."""
    crl = _crl_issuer_verified(data)
    tbs = crl["tbs_cert_list"]
    next_update = tbs["next_update"].native if tbs["next_update"] else None
    row, _ = RevocationRecord.objects.update_or_create(
        kind=RevocationRecord.Kind.CRL, source=source,
        defaults={"der": data, "sha256": hashlib.sha256(data).hexdigest(),
                  "this_update": tbs["this_update"].native, "next_update": next_update,
                  "fetched_at": clock.now(), "last_error": ""},
    )
    return row

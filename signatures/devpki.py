"""A throw-away PKI built at run time for the demo and the tests; no key ever leaves memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

UID_OID = ObjectIdentifier("0.9.2342.19200300.100.1.1")

_KEY_USAGE_FLAGS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)


def new_key(*, size: int = 2048, curve: ec.EllipticCurve | None = None):
    if curve is not None:
        return ec.generate_private_key(curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (kept in memory only)."""

    cert: x509.Certificate
    key: object
    chain: tuple[x509.Certificate, ...] = field(default=())

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.der)

    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(
            self.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def asn1_chain(self) -> list[asn1_x509.Certificate]:
        return [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in self.chain
        ]

    def pkcs12(self, password: bytes) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"signer", self.key, self.cert, list(self.chain) or None,
            serialization.BestAvailableEncryption(password),
        )


def _name(
    common_name: str, organisation: str | None, uid: str | None, serial_number: str | None,
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if uid:
        attrs.append(x509.NameAttribute(UID_OID, uid))
    if serial_number:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    return x509.Name(attrs)


def make_root(
    common_name: str, *, not_before: datetime, not_after: datetime, organisation: str | None = None,
) -> Issued:
    key = new_key()
    name = _name(common_name, organisation, None, None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage({"key_cert_sign", "crl_sign"}), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert=cert, key=key)


def _key_usage(flags: set[str]) -> x509.KeyUsage:
    return x509.KeyUsage(**{flag: flag in flags for flag in _KEY_USAGE_FLAGS})


def issue(
    issuer: Issued,
    common_name: str,
    *,
    not_before: datetime,
    not_after: datetime,
    organisation: str | None = None,
    uid: str | None = None,
    serial_number: str | None = None,
    key=None,
    key_usage: set[str] | None = None,
    extended_key_usage: list | None = None,
    ca: bool = False,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> Issued:
    """Issue a certificate under `issuer`; signing certificates by default."""
    key = key or new_key()
    if key_usage is None:
        key_usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature",
                                                               "content_commitment"}
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation, uid, serial_number))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_key_usage(key_usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=True)
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints([
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
                    reasons=None, crl_issuer=None,
                )
            ]),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(ocsp_url)),
            ]),
            critical=False,
        )
    cert = builder.sign(issuer.key, hash_algorithm or hashes.SHA256())
    return Issued(cert=cert, key=key, chain=(issuer.cert, *issuer.chain))


def make_ocsp_response(issuer: Issued, cert: x509.Certificate, *, this_update: datetime,
                       next_update: datetime, revoked_at: datetime | None = None) -> bytes:
    """A DER OCSP response about `cert`, signed by its issuer."""
    from cryptography.x509 import ocsp

    status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer.cert, algorithm=hashes.SHA1(), cert_status=status,  # nosec B303  # CertID hash (RFC 6960), demo PKI
        this_update=this_update, next_update=next_update, revocation_time=revoked_at,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
    response = builder.sign(issuer.key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def issue_tsa(issuer: Issued, common_name: str, *, not_before: datetime, not_after: datetime,
              crl_url: str | None = None) -> Issued:
    return issue(
        issuer, common_name, not_before=not_before, not_after=not_after,
        key_usage={"digital_signature", "content_commitment"},
        extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING], crl_url=crl_url,
    )


def make_crl(
    issuer: Issued,
    *,
    this_update: datetime,
    next_update: datetime,
    revoked: list[tuple[x509.Certificate, datetime]] = (),
    number: int = 1,
) -> bytes:
    """A DER CRL signed by `issuer`, listing each (certificate, revocation time)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for cert, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

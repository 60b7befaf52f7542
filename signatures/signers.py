"""The agency's signing keys behind one interface: a PKCS#12 file, a PKCS#11 token, a remote
service, or for the demo a throw-away key made at start-up."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import transaction

import requests
from asn1crypto import keys as asn1_keys
from asn1crypto import pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import attributes, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from portal import clock

from .exceptions import SignerNotConfigured, SigningFailed
from .models import TrustedCertificate
from .truststore import revocation_record_store, trust_anchor_import


class ResultSigner(Protocol):
    """Something that hands pyHanko a ready signer for the agency's key."""

    identifier: str

    def pyhanko_signer(self) -> signers.Signer: ...


def private_key_load(der: bytes):
    """The key object from PKCS#8 DER (for RSA the library checks the key: tens of ms)."""
    return serialization.load_der_private_key(der, password=None)


class _SigningCertificateKept(attributes.SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute from its encoding made once: built afresh, the
    library's value is a fresh ASN.1 tree that is encoded again at each of the several places
    a signature includes the signed attributes, most of a signature's work (three quarters
    of an ECDSA signature of a one-page PDF)."""

    def __init__(self, signing_cert: asn1_x509.Certificate, encoded: bytes) -> None:
        super().__init__(signing_cert)
        self.encoded = encoded

    async def build_attr_value(self, dry_run=False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self.encoded)


class SigningCertificateEncodedOnce:
    """A mixin for pyHanko signers: the signed attributes name the signer's certificate
    (signing-certificate-v2, a digest of the certificate and its issuer and serial) with a
    value encoded once per certificate, the same bytes pyHanko's own provider makes. The
    other attributes (content type, message digest, signing time, CAdES ones) are pyHanko's."""

    def _signed_attr_providers(self, *args, **kwargs):
        kept = self.__dict__.setdefault("_signing_certificate_encoded", {})
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is attributes.SigningCertificateV2Provider:
                cert = provider.signing_cert
                key = cert.dump()
                if key not in kept:
                    kept.clear()  # one certificate per signer: keep the last one only
                    kept[key] = attributes.as_signing_certificate_v2(cert).dump()
                provider = _SigningCertificateKept(cert, kept[key])
            yield provider


class LoadedKeySigner(SigningCertificateEncodedOnce, signers.SimpleSigner):
    """pyHanko's SimpleSigner with the key parsed once, not on every signature: the library
    parses it from DER at each signing (twice per PDF, the first to size the container),
    about 40 ms each for RSA-2048. Schemes other than RSA and ECDSA go the library's way."""

    def __init__(self, *, signing_cert: asn1_x509.Certificate,
                 signing_key: asn1_keys.PrivateKeyInfo, cert_registry, private_key=None,
                 **kwargs) -> None:
        super().__init__(signing_cert=signing_cert, signing_key=signing_key,
                         cert_registry=cert_registry, **kwargs)
        self.private_key = (private_key if private_key is not None
                            else private_key_load(signing_key.dump()))

    @classmethod
    def from_key(cls, *, signing_cert: asn1_x509.Certificate, private_key, cert_registry,
                 **kwargs) -> LoadedKeySigner:
        """From a key object already in memory (no parsing at all)."""
        info = asn1_keys.PrivateKeyInfo.load(private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
        return cls(signing_cert=signing_cert, signing_key=info, cert_registry=cert_registry,
                   private_key=private_key, **kwargs)

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None) -> LoadedKeySigner:
        key, cert, others = pkcs12.load_key_and_certificates(data, password)
        if key is None or cert is None:
            raise ValueError("no key or certificate in the PKCS#12 data")
        asn1_cert = asn1_x509.Certificate.load(
            cert.public_bytes(serialization.Encoding.DER))
        chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                 for c in others]
        return cls.from_key(signing_cert=asn1_cert, private_key=key,
                            cert_registry=SimpleCertificateStore.from_certs(chain))

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism_spec = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            mechanism = mechanism_spec.signature_algo
        except ValueError:
            mechanism = mechanism_spec["algorithm"].native
        key = self.private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism_spec["parameters"])
            return key.sign(data, padding, hash_algo)
        if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


# The room (hex digits) pyHanko reserved for each signer's signature in its first PDF. pyHanko
# sizes the container by making a whole dry-run signature first, half the work of a signing;
# the same signer with the same settings and no timestamp gets the same size every time (a
# fixed certificate chain and fixed-size attributes, plus pyHanko's own 50% margin).
_room: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_room_lock = threading.Lock()
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _reserved_in(signed: bytes, previous: int) -> int | None:
    """The room of the signature that signing appended (its /ByteRange lies past the input)."""
    ranges = [m for m in _BYTE_RANGE.finditer(signed) if m.start() >= previous]
    if len(ranges) != 1:
        return None
    _start, before, after, _rest = map(int, ranges[0].groups())
    room = after - before - 2  # the hex digits between "<" and ">"
    return room if room > 0 else None


def pdf_sign(*, content: bytes, pdf_signer: signers.PdfSigner, timestamper=None,
             strict: bool = True) -> bytes:
    """`content` signed by `pdf_signer` (an incremental update). With no timestamp authority
    (whose tokens vary in size) nor revocation data embedded, the container's room is the one
    measured at the signer's first signature with the same digest and format, so pyHanko does
    not sign twice to size it."""
    meta = pdf_signer.signature_meta
    learnable = (timestamper is None and not meta.embed_validation_info
                 and meta.cades_signed_attr_spec is None)
    signer = pdf_signer.signer
    form = (meta.md_algorithm, meta.subfilter)
    room = None
    if learnable:
        with _room_lock:
            room = _room.get(signer, {}).get(form)
    writer = IncrementalPdfFileWriter(BytesIO(content), strict=strict)
    signed = pdf_signer.sign_pdf(writer, bytes_reserved=room).getvalue()
    if learnable and room is None:
        measured = _reserved_in(signed, len(content))
        if measured is not None:
            with _room_lock:
                _room.setdefault(signer, {})[form] = measured
    return signed


class Pkcs12ResultSigner:
    """A PKCS#12 file: for development and the demo."""

    identifier = "pkcs12"

    def __init__(self, *, path: str | Path | None = None, data: bytes | None = None,
                 password: bytes | None = None) -> None:
        if data is None:
            if not path:
                raise SignerNotConfigured(extra={"setting": "SIGNATURES_PKCS12_PATH"})
            data = Path(path).read_bytes()
        self._data = data
        self._password = password
        self._signer: LoadedKeySigner | None = None

    def pyhanko_signer(self) -> signers.Signer:
        if self._signer is None:
            try:
                self._signer = LoadedKeySigner.from_pkcs12(self._data, self._password)
            except ValueError as exc:
                raise SignerNotConfigured("Không mở được tệp PKCS#12.") from exc
        return self._signer


class Pkcs11ResultSigner:
    """A key on a PKCS#11 token or HSM; the session opens once and stays open."""

    identifier = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str, key_label: str,
                 cert_label: str | None = None) -> None:
        if not module or not token_label:
            raise SignerNotConfigured(extra={"setting": "SIGNATURES_PKCS11_MODULE"})
        self.module, self.token_label, self.pin = module, token_label, pin
        self.key_label, self.cert_label = key_label, cert_label or key_label
        self._session = None
        self._signer = None
        self._lock = threading.Lock()

    def pyhanko_signer(self) -> signers.Signer:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        with self._lock:
            if self._signer is None:
                self._session = open_pkcs11_session(
                    self.module, token_criteria=TokenCriteria(label=self.token_label),
                    user_pin=self.pin,
                )
                self._signer = _kept_pkcs11_signer_class(PKCS11Signer)(
                    self._session, cert_label=self.cert_label, key_label=self.key_label,
                )
        return self._signer

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session = self._signer = None


def _kept_pkcs11_signer_class(base: type) -> type:
    """pyHanko's PKCS#11 signer (imported only when a token is configured) with the signing
    certificate's attribute encoded once."""
    return type("Pkcs11Signer", (SigningCertificateEncodedOnce, base), {})


@dataclass(frozen=True)
class RemoteSigningConfig:
    url: str
    token: str
    timeout: float = 10.0


class _RemoteHashSigner(SigningCertificateEncodedOnce, signers.Signer):
    """Two steps: the digest of the signed attributes is computed here, the service signs it."""

    def __init__(self, *, config: RemoteSigningConfig, session: requests.Session,
                 signing_cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]):
        self._config = config
        self._session = session
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs([signing_cert, *chain]),
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        key_bytes = (self.signing_cert.public_key.bit_size + 7) // 8
        if dry_run:
            return bytes(key_bytes + 16)  # room for any DER wrapping of an EC signature
        digest = hashlib.new(digest_algorithm, data).digest()
        try:
            response = self._session.post(
                f"{self._config.url}/sign",
                json={"hash_algorithm": digest_algorithm,
                      "digest": base64.b64encode(digest).decode()},
                headers={"Authorization": f"Bearer {self._config.token}"},
                timeout=self._config.timeout,
            )
            response.raise_for_status()
            return base64.b64decode(response.json()["signature"])
        except (requests.RequestException, KeyError, ValueError) as exc:
            raise SigningFailed(extra={"service": self._config.url, "error": str(exc)}) from exc


def _load_cert(text: str) -> asn1_x509.Certificate:
    data = text.encode()
    if pem.detect(data):
        _type, _headers, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


class RemoteResultSigner:
    """A remote signing service: GET /certificate once, POST /sign per result."""

    identifier = "remote"

    def __init__(self, *, config: RemoteSigningConfig) -> None:
        if not config.url:
            raise SignerNotConfigured(extra={"setting": "SIGNATURES_REMOTE_URL"})
        self.config = config
        self._session = requests.Session()
        self._signer: _RemoteHashSigner | None = None

    def pyhanko_signer(self) -> signers.Signer:
        if self._signer is None:
            try:
                response = self._session.get(
                    f"{self.config.url}/certificate",
                    headers={"Authorization": f"Bearer {self.config.token}"},
                    timeout=self.config.timeout,
                )
                response.raise_for_status()
                body = response.json()
                cert = _load_cert(body["certificate"])
                chain = [_load_cert(c) for c in body.get("chain", [])]
            except (requests.RequestException, KeyError, ValueError) as exc:
                raise SigningFailed(extra={"service": self.config.url, "error": str(exc)}
                                    ) from exc
            self._signer = _RemoteHashSigner(
                config=self.config, session=self._session, signing_cert=cert, chain=chain
            )
        return self._signer


_signer_lock = threading.Lock()
_configured: ResultSigner | None = None
_configured_for: tuple | None = None


def _signer_settings() -> tuple:
    """What the configured signer depends on: the settings that choose it and, for a PKCS#12
    file, the file's modification time, so that a replaced key file is read again."""
    kind = settings.SIGNATURES_SIGNER
    if kind == "pkcs12":
        path = settings.SIGNATURES_PKCS12_PATH
        try:
            mtime = Path(path).stat().st_mtime_ns if path else None
        except OSError:
            mtime = None
        return (kind, path, mtime, settings.SIGNATURES_PKCS12_PASSWORD)
    if kind == "pkcs11":
        return (kind, settings.SIGNATURES_PKCS11_MODULE, settings.SIGNATURES_PKCS11_TOKEN_LABEL,
                settings.SIGNATURES_PKCS11_PIN, settings.SIGNATURES_PKCS11_KEY_LABEL,
                settings.SIGNATURES_PKCS11_CERT_LABEL)
    if kind == "remote":
        return (kind, settings.SIGNATURES_REMOTE_URL, settings.SIGNATURES_REMOTE_TOKEN,
                settings.SIGNATURES_REMOTE_TIMEOUT)
    return (kind,)


def configured_signer() -> ResultSigner:
    """The signer the settings choose, built once per process and reused for every signature
    (its key loaded once); built again only when those settings or the key file change."""
    global _configured, _configured_for
    with _signer_lock:
        wanted = _signer_settings()
        if _configured is None or _configured_for != wanted:
            _configured = _build_signer()
            _configured_for = wanted
        return _configured


def reset_configured_signer() -> None:
    global _configured, _configured_for
    with _signer_lock:
        _configured = _configured_for = None


def _build_signer() -> ResultSigner:
    kind = settings.SIGNATURES_SIGNER
    if kind == "pkcs12":
        password = settings.SIGNATURES_PKCS12_PASSWORD
        return Pkcs12ResultSigner(
            path=settings.SIGNATURES_PKCS12_PATH, password=password.encode() if password else None
        )
    if kind == "pkcs11":
        return Pkcs11ResultSigner(
            module=settings.SIGNATURES_PKCS11_MODULE,
            token_label=settings.SIGNATURES_PKCS11_TOKEN_LABEL,
            pin=settings.SIGNATURES_PKCS11_PIN,
            key_label=settings.SIGNATURES_PKCS11_KEY_LABEL,
            cert_label=settings.SIGNATURES_PKCS11_CERT_LABEL or None,
        )
    if kind == "remote":
        return RemoteResultSigner(config=RemoteSigningConfig(
            url=settings.SIGNATURES_REMOTE_URL.rstrip("/"),
            token=settings.SIGNATURES_REMOTE_TOKEN,
            timeout=settings.SIGNATURES_REMOTE_TIMEOUT,
        ))
    if kind == "demo":
        return demo_signer_provision()
    raise SignerNotConfigured(extra={"setting": "SIGNATURES_SIGNER", "value": kind})


@transaction.atomic
def demo_signer_provision() -> Pkcs12ResultSigner:
    """A throw-away agency key for the demo: its root goes into the government scope of the
    trust store and an empty CRL into the cache, so demo results verify valid."""
    from . import devpki

    now = clock.now()
    root = devpki.make_root("Demo Root CA - Ban Cơ yếu (thử nghiệm)", not_before=now
                            - timedelta(days=1), not_after=now + timedelta(days=3650))
    agency = devpki.issue(
        root, "Sở Công Thương (thử nghiệm)", organisation="UBND tỉnh (thử nghiệm)",
        uid="MNS:1234567", not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=730),
    )
    trust_anchor_import(data=root.pem, scope=TrustedCertificate.Scope.GOVERNMENT,
                        note="demo, generated at start-up")
    revocation_record_store(
        source=f"demo:{root.asn1().sha256.hex()[:16]}",
        data=devpki.make_crl(root, this_update=now - timedelta(minutes=5),
                             next_update=now + timedelta(days=3650)),
    )
    password = secrets.token_urlsafe(16).encode()
    return Pkcs12ResultSigner(data=agency.pkcs12(password), password=password)


def configured_timestamper() -> TimeStamper | None:
    """B-T when a timestamp authority is configured, B-B otherwise."""
    url = settings.SIGNATURES_TSA_URL
    if not url:
        return None
    return RequestsHTTPTimeStamper(url, timeout=settings.SIGNATURES_TSA_TIMEOUT)

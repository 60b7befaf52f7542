"""Our own checks on top of pyHanko: cryptographic policy, DER encoding, key usage."""


from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.validation import (
    KeyUsageConstraints,
)
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    AlgorithmUsageConstraint,
    DisallowWeakAlgorithmsPolicy,
)

from ..models import TrustedCertificate
from ..report import SignatureReport
from ..selectors import ALL_SIGNER_SCOPES, TrustMaterial

log = logging.getLogger(__name__)

WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256




class CryptoPolicy(DisallowWeakAlgorithmsPolicy):
    """No MD5 or SHA-1, RSA at least 2048 bits, EC at least 256 bits."""

    def __init__(self) -> None:
        super().__init__(weak_hash_algos=WEAK_DIGESTS, rsa_key_size_threshold=MIN_RSA_BITS)

    def signature_algorithm_allowed(self, algo, moment, public_key):
        verdict = super().signature_algorithm_allowed(algo, moment, public_key)
        if (verdict and public_key is not None and public_key.algorithm == "ec"
                and public_key.bit_size < MIN_EC_BITS):
            return AlgorithmUsageConstraint(
                allowed=False, failure_reason=f"EC key of {public_key.bit_size} bits"
            )
        return verdict


CRYPTO_POLICY = CryptoPolicy()
CMS_CRYPTO_POLICY = CMSAlgorithmUsagePolicy.lift_policy(CRYPTO_POLICY)
# Either bit makes a signing certificate; an encryption-only one is refused.
KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)


@dataclass(frozen=True)
class VerifyContext:
    material: TrustMaterial
    scopes: tuple[str, ...] = tuple(ALL_SIGNER_SCOPES)
    expected_ids: frozenset[str] | None = None

    def validation_context(self, *, moment: datetime | None = None) -> ValidationContext:
        """Our trust store only, our revocation cache only, hard-fail, no network."""
        return ValidationContext(
            trust_manager=self.material.trust_manager_for(self.scopes),
            other_certs=self.material.intermediates,
            crls=self.material.crls,
            ocsps=self.material.ocsps,
            allow_fetching=False,
            revocation_mode="hard-fail",
            moment=moment,
            retroactive_revinfo=moment is not None,
            algorithm_usage_policy=CRYPTO_POLICY,
        )

    def timestamp_context(self, signer_info: cms.SignerInfo) -> ValidationContext | None:
        """Only built when there is a timestamp token to check (None: pyHanko reuses the
        signer's context, which then has nothing to do)."""
        if not has_timestamp_token(signer_info):
            return None
        return replace(
            self, scopes=(TrustedCertificate.Scope.TIMESTAMPING, *self.scopes)
        ).validation_context()


class SignatureVerifier(Protocol):
    def verify(
        self, *, content: bytes, detached: bytes | None, context: VerifyContext
    ) -> list[SignatureReport]: ...


# --- checks of our own ------------------------------------------------------------------


def has_timestamp_token(signer_info: cms.SignerInfo) -> bool:
    attrs = signer_info["unsigned_attrs"]
    if not attrs.contents:
        return False
    return any(attr["type"].native == "signature_time_stamp_token" for attr in attrs)


def signed_attrs_are_der(signer_info: cms.SignerInfo) -> bool:
    """DER sorts SET OF; a verifier that hashes the received bytes misses unsorted ones."""
    attrs = signer_info["signed_attrs"]
    if not attrs.contents:
        return True
    try:
        return _der_set_contents_ok(bytes(attrs.contents))
    except (IndexError, ValueError):
        return False


def _der_tlvs(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split DER into (tag, whole encoding, contents), refusing non-minimal or indefinite
    lengths; a structural walk is cheap where re-encoding through asn1crypto is not."""
    out, pos = [], 0
    while pos < len(data):
        start = pos
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # high tag numbers
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        first = data[pos]
        pos += 1
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or data[pos] == 0:
                raise ValueError("indefinite or padded length")
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
            if length < 0x80:
                raise ValueError("length not minimal")
        if pos + length > len(data):
            raise ValueError("truncated")
        out.append((tag, data[start:pos + length], data[pos:pos + length]))
        pos += length
    return out


def _der_set_contents_ok(contents: bytes) -> bool:
    children = _der_tlvs(contents)
    encodings = [whole for _tag, whole, _c in children]
    if encodings != sorted(encodings):
        return False
    return all(_der_ok(tag, inner) for tag, _whole, inner in children)


def _der_ok(tag: int, contents: bytes) -> bool:
    if not tag & 0x20:  # primitive
        return True
    if tag == 0x31:
        return _der_set_contents_ok(contents)
    return all(_der_ok(t, inner) for t, _whole, inner in _der_tlvs(contents))


def crypto_policy_problem(signer_info: cms.SignerInfo, cert: asn1_x509.Certificate) -> str:
    """Empty when the signature's digest, mechanism and key meet our policy."""
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if digest in WEAK_DIGESTS:
        return f"digest algorithm {digest}"
    mechanism = signer_info["signature_algorithm"]
    try:
        mechanism_hash = mechanism.hash_algo
    except ValueError:
        mechanism_hash = None
    if mechanism_hash in WEAK_DIGESTS:
        return f"signature algorithm {mechanism['algorithm'].native}"
    key = cert.public_key
    if key.algorithm == "rsa" and key.bit_size < MIN_RSA_BITS:
        return f"RSA key of {key.bit_size} bits"
    if key.algorithm == "ec" and key.bit_size < MIN_EC_BITS:
        return f"EC key of {key.bit_size} bits"
    return ""


def has_signing_key_usage(cert: asn1_x509.Certificate) -> bool:
    usage = cert.key_usage_value
    if usage is None:
        return True  # no extension: not restricted
    return bool({"digital_signature", "non_repudiation"} & set(usage.native))

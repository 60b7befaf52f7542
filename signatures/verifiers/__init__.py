"""The signature verifiers: PAdES (pyHanko) and detached CMS, with our own verdict on top."""

from .cms import DetachedCmsVerifier, validate_detached_cms, validate_pdf_signature
from .pades import PadesVerifier
from .policy import (
    CMS_CRYPTO_POLICY,
    CRYPTO_POLICY,
    KEY_USAGE,
    CryptoPolicy,
    SignatureVerifier,
    VerifyContext,
    crypto_policy_problem,
    has_signing_key_usage,
    has_timestamp_token,
    signed_attrs_are_der,
)
from .verdict import Facts, build_report, decide, failure_report, manual_review_report

__all__ = [
    "CMS_CRYPTO_POLICY", "CRYPTO_POLICY", "KEY_USAGE", "CryptoPolicy", "DetachedCmsVerifier",
    "Facts", "PadesVerifier", "SignatureVerifier", "VerifyContext", "build_report",
    "crypto_policy_problem", "decide", "failure_report", "has_signing_key_usage",
    "has_timestamp_token", "manual_review_report", "signed_attrs_are_der",
    "validate_detached_cms", "validate_pdf_signature",
]

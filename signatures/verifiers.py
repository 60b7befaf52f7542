"""The PAdES and detached-CMS verifiers: pyHanko does the cryptography, the verdict is ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Protocol

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    KeyUsageConstraints,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    AlgorithmUsageConstraint,
    DisallowWeakAlgorithmsPolicy,
)

from .models import TrustedCertificate
from .report import ADVICE, Indication, SignatureReport, Verdict, identity_from_certificate
from .selectors import ALL_SIGNER_SCOPES, TrustMaterial

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
            trust_roots=self.material.roots_for(self.scopes),
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


# --- the verdict --------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """Everything the verdict looks at, gathered from pyHanko and our own checks."""

    intact: bool
    valid: bool
    der_ok: bool
    crypto_problem: str
    key_usage_ok: bool
    coverage: str
    modification_level: str | None
    suspicious_modification: bool
    non_signature_fields_changed: bool
    form_filling_permitted: bool
    trust_problem: str | None  # AdES sub-indication name from path validation
    trusted: bool
    poe_time: datetime | None
    claimed_time: datetime | None
    valid_from: datetime | None
    valid_to: datetime | None
    revoked_at: datetime | None


def _outcome(verdict: Verdict, sub: str | None, advice: str) -> tuple[Verdict, str, str | None,
                                                                       str]:
    indication = {
        Verdict.VALID: Indication.TOTAL_PASSED,
        Verdict.INVALID: Indication.TOTAL_FAILED,
        Verdict.INDETERMINATE: Indication.INDETERMINATE,
    }[verdict]
    return verdict, str(indication), sub, advice


def decide(f: Facts) -> tuple[Verdict, str, str | None, str]:
    """Our verdict (DESIGN §6), with the ETSI indication and sub-indication that go with it."""
    if not f.intact:
        return _outcome(Verdict.INVALID, "HASH_FAILURE", "hash_failure")
    if not f.der_ok:
        return _outcome(Verdict.INVALID, "HASH_FAILURE", "not_der")
    if not f.valid:
        return _outcome(Verdict.INVALID, "SIG_CRYPTO_FAILURE", "sig_crypto")
    if f.coverage not in ("entire_file", "entire_revision") or f.suspicious_modification:
        return _outcome(Verdict.INVALID, "FORMAT_FAILURE", "partial_coverage"
                        if f.coverage not in ("entire_file", "entire_revision") else "modified")
    if f.coverage == "entire_revision":
        level = f.modification_level
        if level == "other" or level is None:
            return _outcome(Verdict.INVALID, "FORMAT_FAILURE", "modified")
        if level == "form_filling" and f.non_signature_fields_changed and not (
            f.form_filling_permitted
        ):
            # pyHanko calls a changed text field "form filling"; on a signature that did not
            # allow it, that is the shadow "replace" attack.
            return _outcome(Verdict.INVALID, "FORMAT_FAILURE", "modified")
        if level == "annotations":
            return _outcome(Verdict.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE", "annotations")
    if f.crypto_problem:
        # ETSI leaves weak algorithms indeterminate; our policy refuses them outright.
        return Verdict.INVALID, str(Indication.INDETERMINATE), (
            "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"), "weak_crypto"
    if not f.key_usage_ok:
        return Verdict.INVALID, str(Indication.INDETERMINATE), "CHAIN_CONSTRAINTS_FAILURE", (
            "key_usage")
    return _decide_trust(f)


def _decide_trust(f: Facts) -> tuple[Verdict, str, str | None, str]:
    proof = f.poe_time  # a trusted timestamp proves the signature existed then
    when = proof or f.claimed_time
    if f.revoked_at is not None:
        if proof is not None and proof < f.revoked_at and f.trusted:
            return _outcome(Verdict.VALID, None, "ok")
        if when is not None and when >= f.revoked_at:
            return _outcome(Verdict.INVALID, "REVOKED", "revoked")
        return _outcome(Verdict.INDETERMINATE, "REVOKED_NO_POE", "revoked_no_poe")
    if f.valid_from is not None and when is not None and when < f.valid_from:
        return _outcome(Verdict.INVALID, "NOT_YET_VALID", "not_yet_valid")
    if f.valid_to is not None and when is not None and when > f.valid_to:
        return _outcome(Verdict.INVALID, "EXPIRED", "expired")
    if f.trusted:
        return _outcome(Verdict.VALID, None, "ok")
    problem = f.trust_problem or "NO_CERTIFICATE_CHAIN_FOUND"
    advice = {
        "NO_CERTIFICATE_CHAIN_FOUND": "untrusted",
        "OUT_OF_BOUNDS_NO_POE": "out_of_bounds",
        "OUT_OF_BOUNDS_NOT_REVOKED": "out_of_bounds",
        "EXPIRED": "out_of_bounds",
        "TRY_LATER": "try_later",
        "NO_SIGNING_CERTIFICATE_FOUND": "no_signing_cert",
    }.get(problem, "manual_review")
    return _outcome(Verdict.INDETERMINATE, problem, advice)


def failure_report(*, index: int, field_name: str, kind: str, verdict: Verdict,
                   sub_indication: str, advice: str, detail: str) -> SignatureReport:
    indication = (
        Indication.TOTAL_FAILED if verdict == Verdict.INVALID else Indication.INDETERMINATE
    )
    return SignatureReport(
        index=index, field_name=field_name, kind=kind, verdict=verdict,
        indication=str(indication), sub_indication=sub_indication, intact=None,
        manual_review=verdict == Verdict.INDETERMINATE, advice=ADVICE[advice], detail=detail,
    )


def manual_review_report(*, index: int, field_name: str, kind: str, exc: BaseException
                         ) -> SignatureReport:
    """Any exception inside the verifier: indeterminate and manual review, never valid."""
    log.warning("signature %s could not be verified", field_name, exc_info=exc)
    sub = getattr(getattr(exc, "ades_subindication", None), "name", None) or "GENERIC"
    advice = {"NO_SIGNING_CERTIFICATE_FOUND": "no_signing_cert"}.get(sub, "manual_review")
    if "exactly one" in str(exc):
        advice = "ambiguous"
    return failure_report(
        index=index, field_name=field_name, kind=kind, verdict=Verdict.INDETERMINATE,
        sub_indication=sub, advice=advice, detail=f"{type(exc).__name__}: {exc}"[:500],
    )


# --- building a report from a pyHanko status ----------------------------------------------


_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "unknown",
}
_LEVELS = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta_updates",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _timestamp_time(status) -> datetime | None:
    ts = getattr(status, "timestamp_validity", None)
    if ts is not None and ts.intact and ts.valid and ts.trusted:
        return ts.timestamp
    return None


def _root_of(status, material: TrustMaterial) -> tuple[str, str]:
    path = status.validation_path
    if path is None:
        return "", ""
    anchor = path.trust_anchor
    cert = getattr(anchor, "certificate", None) or getattr(anchor, "authority", None)
    cert = getattr(cert, "certificate", cert)
    if not isinstance(cert, asn1_x509.Certificate):
        return str(getattr(anchor, "name", "")), ""
    return cert.subject.human_friendly, material.root_scope.get(cert.sha256.hex(), "")


def build_report(
    *,
    index: int,
    field_name: str,
    kind: str,
    status,
    signer_info: cms.SignerInfo,
    der_ok: bool,
    context: VerifyContext,
    coverage: str,
    modification_level: str | None,
    suspicious: bool,
    changes: tuple[str, ...],
    non_signature_fields_changed: bool,
    form_filling_permitted: bool,
    revalidate=None,
) -> SignatureReport:
    cert: asn1_x509.Certificate = status.signing_cert
    validity = cert["tbs_certificate"]["validity"]
    valid_from = validity["not_before"].native
    valid_to = validity["not_after"].native
    poe_time = _timestamp_time(status)
    claimed = _aware(getattr(status, "signer_reported_dt", None))
    revocation = context.material.revocation_of(cert)
    revoked_at = None
    if status.revocation_details is not None and not status.revocation_details.ca_revoked:
        revoked_at = status.revocation_details.revocation_date
    elif revocation is not None and revocation.revoked_at is not None:
        revoked_at = revocation.revoked_at
    trust_problem = status.trust_problem_indic.name if status.trust_problem_indic else None
    trusted = status.trusted
    # Revoked or out of its validity now, but a trusted timestamp proves an earlier signature:
    # validate the chain again at that moment.
    if (not trusted and poe_time is not None and revalidate is not None
            and trust_problem in {"REVOKED_NO_POE", "OUT_OF_BOUNDS_NO_POE",
                                  "OUT_OF_BOUNDS_NOT_REVOKED", "EXPIRED"}):
        if revoked_at is None or poe_time < revoked_at:
            again = revalidate(poe_time)
            trusted = again.trusted
            trust_problem = again.trust_problem_indic.name if again.trust_problem_indic else None
            status_for_path = again
        else:
            status_for_path = status
    else:
        status_for_path = status
    facts = Facts(
        intact=status.intact,
        valid=status.valid,
        der_ok=der_ok,
        crypto_problem=crypto_policy_problem(signer_info, cert),
        key_usage_ok=has_signing_key_usage(cert),
        coverage=coverage,
        modification_level=modification_level,
        suspicious_modification=suspicious,
        non_signature_fields_changed=non_signature_fields_changed,
        form_filling_permitted=form_filling_permitted,
        trust_problem=trust_problem,
        trusted=trusted,
        poe_time=poe_time,
        claimed_time=claimed,
        valid_from=valid_from,
        valid_to=valid_to,
        revoked_at=revoked_at,
    )
    verdict, indication, sub, advice = decide(facts)
    signer = identity_from_certificate(cert)
    matches = None
    if context.expected_ids is not None:
        matches = bool(signer.identifiers & context.expected_ids)
    root, scope = _root_of(status_for_path, context.material)
    when = poe_time or claimed
    if revocation is None:
        revocation_status, revocation_source = "unknown", ""
    else:
        revocation_status = "revoked" if revocation.revoked_at else "good"
        revocation_source = f"{revocation.kind}: {revocation.source}"
    if revoked_at is not None:
        revocation_status = "revoked"
    return SignatureReport(
        index=index,
        field_name=field_name,
        kind=kind,
        verdict=verdict,
        indication=indication,
        sub_indication=sub,
        intact=bool(status.intact and status.valid and der_ok),
        manual_review=verdict == Verdict.INDETERMINATE,
        advice=ADVICE[advice],
        signer=signer,
        matches_applicant=matches,
        issuer=cert.issuer.human_friendly,
        root=root,
        root_scope=scope,
        signing_time=claimed,
        timestamp_time=poe_time,
        certificate_valid_from=valid_from,
        certificate_valid_to=valid_to,
        certificate_valid_at_signing=(valid_from <= when <= valid_to) if when else None,
        revocation_status=revocation_status,
        revocation_source=revocation_source,
        revocation_time=revoked_at,
        coverage=coverage,
        modification_level=modification_level,
        changes_after_signing=changes,
        digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
        signature_algorithm=signer_info["signature_algorithm"]["algorithm"].native,
        detail=facts.crypto_problem,
    )


# --- PAdES -----------------------------------------------------------------------------------


def _signature_field_names(reader: PdfFileReader) -> set[str]:
    return {name for name, _value, _ref in enumerate_sig_fields(reader, filled_status=None)}


def _collect_signatures(reader: PdfFileReader) -> list[tuple[str, object]]:
    """Every filled signature field, in signing order; one that cannot be read is kept as
    its exception, so it is reported instead of silently skipped."""
    readable, broken = [], []
    for name, value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        try:
            if value.get_object().get("/Type") == "/DocTimeStamp":
                continue
            readable.append((name, EmbeddedPdfSignature(reader, field_ref, name)))
        except Exception as exc:  # noqa: BLE001 - reported as unreadable below
            broken.append((name, exc))
    readable.sort(key=lambda item: item[1].signed_revision)
    return readable + broken


def _unreadable_signature_report(index: int, name: str, exc: BaseException) -> SignatureReport:
    if "exactly one" in str(exc):
        return manual_review_report(index=index, field_name=name, kind="pades", exc=exc)
    # An empty placeholder or a /Contents that is not CMS at all cannot be a signature.
    return failure_report(
        index=index, field_name=name, kind="pades", verdict=Verdict.INVALID,
        sub_indication="FORMAT_FAILURE", advice="format",
        detail=f"{type(exc).__name__}: {exc}"[:500],
    )


class PadesVerifier:
    """Every signature in a PDF; document timestamps count as permitted later changes."""

    def verify(self, *, content: bytes, detached: bytes | None, context: VerifyContext
               ) -> list[SignatureReport]:
        reader = PdfFileReader(BytesIO(content), strict=False)
        found = _collect_signatures(reader)
        if not found:
            return []
        sig_field_names = _signature_field_names(reader)
        reports = []
        for index, (name, sig) in enumerate(found):
            if isinstance(sig, BaseException):
                reports.append(_unreadable_signature_report(index, name, sig))
                continue
            try:
                reports.append(self._one(index, sig, context, sig_field_names))
            except Exception as exc:  # noqa: BLE001 - fail closed, never valid
                reports.append(manual_review_report(
                    index=index, field_name=name, kind="pades", exc=exc))
        return reports

    def _one(self, index: int, sig: EmbeddedPdfSignature, context: VerifyContext,
             sig_field_names: set[str]) -> SignatureReport:
        status = validate_pdf_signature(
            sig,
            signer_validation_context=context.validation_context(),
            ts_validation_context=context.timestamp_context(sig.signer_info),
            key_usage_settings=KEY_USAGE,
            skip_diff=False,
            algorithm_policy=CMS_CRYPTO_POLICY,
        )
        diff = sig.diff_result
        suspicious = diff is not None and not hasattr(diff, "modification_level")
        changed = set(getattr(diff, "changed_form_fields", set()) or set())
        level = _LEVELS.get(status.modification_level) if status.modification_level else None
        if suspicious:
            level = "other"
        coverage = _COVERAGE.get(status.coverage, "unknown")
        changes = _describe_changes(coverage, level, changed, sig_field_names)
        docmdp = sig.docmdp_level
        form_filling_permitted = docmdp is not None and docmdp.value >= 2

        def revalidate(moment: datetime):
            return validate_pdf_signature(
                sig,
                signer_validation_context=context.validation_context(moment=moment),
                ts_validation_context=context.timestamp_context(sig.signer_info),
                key_usage_settings=KEY_USAGE,
                algorithm_policy=CMS_CRYPTO_POLICY,
            )

        return build_report(
            index=index, field_name=sig.field_name, kind="pades", status=status,
            signer_info=sig.signer_info,
            der_ok=signed_attrs_are_der(sig.signer_info),
            context=context, coverage=coverage, modification_level=level,
            suspicious=suspicious, changes=changes,
            non_signature_fields_changed=bool(changed - sig_field_names),
            form_filling_permitted=form_filling_permitted, revalidate=revalidate,
        )


def _safe_field_name(sig) -> str:
    try:
        return sig.field_name
    except Exception:  # noqa: BLE001
        return ""


def _describe_changes(coverage: str, level: str | None, changed: Iterable[str],
                      sig_field_names: set[str]) -> tuple[str, ...]:
    if coverage == "entire_file":
        return ()
    changed = set(changed)
    out = []
    signed_later = sorted(changed & sig_field_names)
    if signed_later:
        out.append("signatures added: " + ", ".join(signed_later))
    other_fields = sorted(changed - sig_field_names)
    if other_fields:
        out.append("form fields changed: " + ", ".join(other_fields))
    if level == "lta_updates" and not out:
        out.append("validation data or document timestamp added")
    if level == "annotations":
        out.append("annotations added or changed")
    if level == "other":
        out.append("content or structure changed (not a permitted change)")
    if coverage not in ("entire_revision",):
        out.append("signature does not cover a whole revision")
    return tuple(out)


# --- detached CMS ------------------------------------------------------------------------------


class DetachedCmsVerifier:
    """A .p7s signature over a separate file."""

    def verify(self, *, content: bytes, detached: bytes | None, context: VerifyContext
               ) -> list[SignatureReport]:
        try:
            info = cms.ContentInfo.load(_unarmor(detached or b""))
            signed_data = info["content"]
            signer_infos = signed_data["signer_infos"]
            if info["content_type"].native != "signed_data" or len(signer_infos) == 0:
                raise ValueError("not a CMS SignedData")
            _ = signer_infos[0]["signed_attrs"].native  # force a full parse of what we use
        except Exception as exc:  # noqa: BLE001 - a broken .p7s is a format failure
            return [failure_report(
                index=0, field_name="", kind="cms", verdict=Verdict.INVALID,
                sub_indication="FORMAT_FAILURE", advice="format",
                detail=f"{type(exc).__name__}: {exc}"[:500],
            )]
        reports = []
        for index, signer_info in enumerate(signer_infos):
            try:
                if len(signer_infos) != 1:
                    raise SignatureValidationError("signer_infos should contain exactly one entry")
                status = validate_detached_cms(
                    content, signed_data,
                    signer_validation_context=context.validation_context(),
                    ts_validation_context=context.timestamp_context(signer_info),
                    key_usage_settings=KEY_USAGE,
                    algorithm_policy=CMS_CRYPTO_POLICY,
                )

                def revalidate(moment: datetime, signed_data=signed_data, signer_info=signer_info):
                    return validate_detached_cms(
                        content, signed_data,
                        signer_validation_context=context.validation_context(moment=moment),
                        ts_validation_context=context.timestamp_context(signer_info),
                        key_usage_settings=KEY_USAGE,
                        algorithm_policy=CMS_CRYPTO_POLICY,
                    )

                reports.append(build_report(
                    index=index, field_name="", kind="cms", status=status,
                    signer_info=signer_info, der_ok=signed_attrs_are_der(signer_info),
                    context=context, coverage="entire_file", modification_level=None,
                    suspicious=False, changes=(), non_signature_fields_changed=False,
                    form_filling_permitted=False, revalidate=revalidate,
                ))
            except Exception as exc:  # noqa: BLE001 - fail closed, never valid
                reports.append(manual_review_report(index=index, field_name="", kind="cms",
                                                    exc=exc))
        return reports


def validate_pdf_signature(sig: EmbeddedPdfSignature, **kwargs):
    return asyncio.run(async_validate_pdf_signature(sig, **kwargs))


def validate_detached_cms(content: bytes, signed_data, **kwargs):
    return asyncio.run(async_validate_detached_cms(content, signed_data, **kwargs))


def _unarmor(data: bytes) -> bytes:
    """A .p7s is DER, sometimes PEM-armoured."""
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        from asn1crypto import pem

        _type, _headers, der = pem.unarmor(stripped)
        return der
    return data

"""Our verdict from the facts of a validation, and the report built from it."""


from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.status import SignatureCoverageLevel

from ..report import ADVICE, Indication, SignatureReport, Verdict, identity_from_certificate
from ..selectors import TrustMaterial
from .policy import VerifyContext, crypto_policy_problem, has_signing_key_usage

log = logging.getLogger(__name__)




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

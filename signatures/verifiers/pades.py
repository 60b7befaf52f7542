"""PAdES: every signature embedded in a PDF."""


from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from io import BytesIO

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
)

from ..report import SignatureReport, Verdict
from .cms import validate_pdf_signature
from .policy import CMS_CRYPTO_POLICY, KEY_USAGE, VerifyContext, signed_attrs_are_der
from .verdict import _COVERAGE, _LEVELS, build_report, failure_report, manual_review_report

log = logging.getLogger(__name__)




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

"""Detached CMS / PKCS#7 signatures over a separate file."""


from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from asn1crypto import cms
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

from ..report import SignatureReport, Verdict
from .policy import CMS_CRYPTO_POLICY, KEY_USAGE, VerifyContext, signed_attrs_are_der
from .verdict import build_report, failure_report, manual_review_report

log = logging.getLogger(__name__)




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

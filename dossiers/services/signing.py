"""Digital signatures on dossiers: verifying what applicants upload, signing what we issue."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock
from portal.effects import task_after_commit, task_queue
from portal.roles import Role
from signatures.exceptions import UnsupportedFormat
from signatures.ocsp import ocsp_refresh_for_pdf
from signatures.report import review_reasons
from signatures.results import ResultContent
from signatures.services import SignedResult, result_issue, signature_verify

from ..exceptions import (
    DossierNotFound,
    InvalidTransition,
    ReasonRequired,
    TransitionForbidden,
)
from ..models import Document, Dossier, Result
from ..models.dossier import in_unit_scope
from .slips import paper_place

log = logging.getLogger(__name__)

VERIFY_TASK = "dossiers.tasks.verify_document_signatures"

RESULT_TITLES = {
    Result.Kind.LICENCE: "GIẤY PHÉP",
    Result.Kind.DECISION: "QUYẾT ĐỊNH",
    Result.Kind.REFUSAL: "VĂN BẢN TỪ CHỐI GIẢI QUYẾT HỒ SƠ",
}


# --- what applicants upload ------------------------------------------------------------


def _expected_ids(dossier: Dossier) -> list[str]:
    applicant = dossier.applicant
    return [i for i in (applicant.tax_code, applicant.citizen_id) if i]


def verifies_inline(*, content: bytes, content_type: str) -> bool:
    """Small single-signature PDFs are checked during the upload; the rest in a worker."""
    if content_type != "application/pdf":
        return True  # nothing to verify: it is answered at once
    return (len(content) <= settings.SIGNATURES_INLINE_MAX_BYTES
            and content.count(b"/ByteRange") <= 1)


@dataclass(frozen=True)
class VerificationOutcome:
    verdict: str
    report: dict
    checked_at: datetime


def verification_compute(*, dossier: Dossier, content: bytes, content_type: str,
                         filename: str) -> VerificationOutcome:
    """Verify a file's signatures against the applicant's identifiers (CPU work: call it
    outside any transaction)."""
    now = clock.now()
    if content_type != "application/pdf":
        return VerificationOutcome("", {"signatures": [], "verdict": None, "kind": "none"}, now)
    try:
        result = signature_verify(content=content, filename=filename,
                                  expected_ids=_expected_ids(dossier))
    except UnsupportedFormat:
        return VerificationOutcome(
            "", {"signatures": [], "verdict": None, "kind": "unreadable"}, now)
    return VerificationOutcome(str(result.verdict) if result.verdict else "", result.as_dict(),
                               now)


def verification_fill(document: Document, outcome: VerificationOutcome) -> Document:
    """The outcome on the document object, for a row not saved yet (written with it)."""
    document.signature_verdict = outcome.verdict
    document.signature_report = outcome.report
    document.signature_checked_at = outcome.checked_at
    return document


def _store_verification(document: Document, outcome: VerificationOutcome) -> Document:
    verification_fill(document, outcome)
    Document.objects.filter(pk=document.pk).update(
        signature_verdict=outcome.verdict, signature_report=outcome.report,
        signature_checked_at=outcome.checked_at,
    )
    return document


def document_apply_verification(*, document: Document, content: bytes) -> Document:
    """Verify the document's signatures and store the verdict and the report on it."""
    outcome = verification_compute(dossier=document.dossier, content=content,
                                   content_type=document.content_type,
                                   filename=document.original_name)
    return _store_verification(document, outcome)


def document_verification_prepare(*, dossier: Dossier, content: bytes, content_type: str,
                                  filename: str) -> VerificationOutcome | None:
    """Before the upload's transaction: the outcome of a file verified inline, or None when a
    worker will verify it after the commit."""
    if not verifies_inline(content=content, content_type=content_type):
        return None
    return verification_compute(dossier=dossier, content=content, content_type=content_type,
                                filename=filename)


def document_schedule_verification(*, document: Document, content: bytes) -> None:
    """Inside the upload's transaction, for a file not verified before it (the upload writes
    an outcome found before it with the new row, `verification_fill`): verify it now if it is
    one to verify inline (`verifies_inline`), else hand it to a worker after commit."""
    if verifies_inline(content=content, content_type=document.content_type):
        document_apply_verification(document=document, content=content)
        return
    task_after_commit(VERIFY_TASK, document.pk)


def document_verify_signatures(*, document_id: int) -> Document | None:
    """The worker's side: verify a stored document once (a repeat finds it done)."""
    document = (
        Document.objects.select_related("dossier__applicant").filter(pk=document_id).first()
    )
    if document is None or document.signature_checked_at is not None:
        return document
    with document.file.open("rb") as handle:
        content = handle.read()
    return document_apply_verification(document=document, content=content)


def documents_verify_pending(*, older_than: timedelta = timedelta(minutes=10),
                             limit: int = 200) -> list[int]:
    """Documents whose verification task was never queued or was lost (the broker was down, a
    worker died): queue it again; the ids queued. A repeat finds a verified document done."""
    ids = list(
        Document.objects.filter(signature_checked_at__isnull=True, is_current=True,
                                created_at__lte=clock.now() - older_than)
        .order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        task_queue(VERIFY_TASK, pk)
    return ids


def documents_recheck_revocation(*, max_age_days: int = 30, limit: int = 200,
                                 post=None) -> list[int]:
    """Documents left `indeterminate` for want of revocation data: fetch their signers' OCSP
    answers (allowlisted responders only) and verify them again; the ids re-verified."""
    since = clock.now() - timedelta(days=max_age_days)
    candidates = (
        Document.objects.filter(signature_verdict=Document.Verdict.INDETERMINATE,
                                signature_decision="", is_current=True, created_at__gte=since)
        .select_related("dossier__applicant").order_by("signature_checked_at")[:limit]
    )
    rechecked = []
    for document in candidates:
        reports = (document.signature_report or {}).get("signatures", [])
        if not any(r.get("revocation_status") == "unknown" for r in reports):
            continue
        with document.file.open("rb") as handle:
            content = handle.read()
        outcome = ocsp_refresh_for_pdf(content, post=post)
        if "stored" in outcome.values():
            document_apply_verification(document=document, content=content)
            rechecked.append(document.pk)
    return rechecked


@transaction.atomic(durable=True)
def document_signature_decide(*, document_id: int, actor, accept: bool, note: str) -> Document:
    """An officer decides on a signature the verifier could not settle (`indeterminate`) or
    made by someone other than the applicant."""
    document = (
        Document.objects.select_for_update().select_related("dossier__handling_agency")
        .filter(pk=document_id).first()
    )
    agency = document.dossier.handling_agency.code if document else None
    if document is None or not (actor.has_role(*Role.STAFF) and actor.agency_code == agency
                                and in_unit_scope(document.dossier, actor)):
        raise DossierNotFound()
    if not actor.has_role(Role.RECEPTION, Role.SPECIALIST, Role.LEADER):
        raise TransitionForbidden()
    if not review_reasons(verdict=document.signature_verdict, report=document.signature_report):
        raise InvalidTransition(
            _("Chỉ quyết định được với chữ ký số chưa xác định được hoặc của người ký không "
              "phải người nộp hồ sơ."),
            extra={"verdict": document.signature_verdict},
        )
    if not (note or "").strip():
        raise ReasonRequired()
    document.signature_decision = "accepted" if accept else "rejected"
    document.signature_decided_by = actor
    document.signature_decided_at = clock.now()
    document.signature_decision_note = note.strip()
    document.save(update_fields=["signature_decision", "signature_decided_by",
                                 "signature_decided_at", "signature_decision_note",
                                 "updated_at"])
    return document


# --- what the agency issues ------------------------------------------------------------


def result_content_for(*, dossier: Dossier, actor, kind: str, number: str,
                       reason: str = "") -> ResultContent:
    """The text of a result (licence, decision or refusal notice) in Vietnamese, as plain
    values; the date is written from the signing time, in Vietnam time."""
    procedure = dossier.procedure
    applicant = dossier.applicant
    facts = tuple(
        f"{label}: {value}" for label, value in (
            ("Mã số thuế", applicant.tax_code), ("Số CCCD", applicant.citizen_id),
            ("Người được ủy quyền", dossier.on_behalf_name),
        ) if value
    )
    body = [f"Căn cứ hồ sơ số {dossier.code} của {applicant.display_name}"
            f" đề nghị: {procedure.name}."]
    if kind == Result.Kind.REFUSAL:
        body.append(f"{dossier.handling_agency.name} từ chối giải quyết hồ sơ vì lý do sau:")
    else:
        body.append(f"Cấp cho {applicant.display_name}"
                    + (f", mã số thuế {applicant.tax_code}" if applicant.tax_code else "") + ".")
    return ResultContent(
        agency=dossier.handling_agency.name, title=RESULT_TITLES.get(kind, "KẾT QUẢ"),
        number=number or dossier.code, recipient=applicant.display_name, body=tuple(body),
        place=paper_place(), signer_title="GIÁM ĐỐC", signer_name=actor.display_name,
        dossier_code=dossier.code or "", procedure=procedure.name,
        procedure_code=procedure.national_code, applicant_facts=facts,
        reason=(reason or "(không nêu)") if kind == Result.Kind.REFUSAL else "",
    )


def result_sign_for(*, dossier: Dossier, actor, kind: str, number: str,
                    reason: str = "") -> SignedResult:
    """Render and sign a result before the transition takes the row lock (signing may go to a
    token or a remote service, which never happens inside a transaction). `dossier` is the
    caller's read of it before the lock, with its procedure, agencies and applicant."""
    content = result_content_for(dossier=dossier, actor=actor, kind=kind, number=number,
                                 reason=reason)
    return result_issue(result=content, filename=f"ket-qua-{dossier.code}.pdf")

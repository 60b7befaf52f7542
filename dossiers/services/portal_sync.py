"""Turns outbox rows into the portal adapters' dataclasses and sends them."""

from datetime import datetime

from integrations.base import DocumentRef, DossierSnapshot, ProgressUpdate, ResultRef
from integrations.registry import get_portal_adapter

from ..models import OutboundMessage


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _documents(dossier_id: int) -> tuple[tuple[DocumentRef, ...], tuple[ResultRef, ...]]:
    from .sync import outbox_documents

    documents, results = outbox_documents(dossier_id=dossier_id)
    return (
        tuple(
            DocumentRef(component_code=d["component"], name=d["file_name"], sha256=d["sha256"],
                        file_id=f"{dossier_id}-{d['component']}-v{d['version']}")
            for d in documents
        ),
        tuple(
            ResultRef(file_id=f"{dossier_id}-result", name=r["number"] or r["kind"],
                      sha256=r["sha256"])
            for r in results
        ),
    )


def snapshot_from(message: OutboundMessage) -> DossierSnapshot:
    """The whole dossier as it stood at the change, with its documents as they are now."""
    p = message.payload
    documents, results = _documents(message.dossier_id)
    applicant = p.get("applicant") or {}
    return DossierSnapshot(
        code=p["code"], procedure_code=p["procedure_code"], procedure_name=p["procedure_name"],
        state=p["state"], transition=p["transition"], channel=p["channel"],
        applicant_name=applicant.get("name", ""),
        applicant_id=applicant.get("tax_code") or applicant.get("citizen_id") or "",
        agency_code=p["agency"], received_at=_when(p["received_at"]), due_at=_when(p["due_at"]),
        completed_at=_when(p["completed_at"]), returned_at=_when(p["returned_at"]),
        documents=documents, results=results,
    )


def progress_from(message: OutboundMessage) -> ProgressUpdate:
    p = message.payload
    results = _documents(message.dossier_id)[1] if p["completed_at"] else ()
    return ProgressUpdate(
        dossier_code=p["code"], state=p["state"], transition=p["transition"], at=_when(p["at"]),
        note=p.get("reason", ""), due_at=_when(p["due_at"]), results=results,
    )


def deliver(message: OutboundMessage) -> str:
    """Send one outbox row; the remote system's reference for it."""
    adapter = get_portal_adapter(message.system)
    if message.kind == OutboundMessage.Kind.PUSH_DOSSIER:
        receipt = adapter.push_dossier(snapshot_from(message),
                                       idempotency_key=message.idempotency_key)
    else:
        receipt = adapter.push_progress(progress_from(message),
                                        idempotency_key=message.idempotency_key)
    return receipt.reference

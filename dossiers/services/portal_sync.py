"""Turns outbox rows into the portal adapters' dataclasses and sends them."""

from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import DocumentRef, DossierSnapshot, Fee, ProgressUpdate, ResultRef
from integrations.registry import get_portal_adapter

from ..models import Document, OutboundMessage, Result


@dataclass
class Attachments:
    """Documents and results of the dossiers of a batch, read in two queries for all of them."""

    documents: dict[int, tuple[DocumentRef, ...]] = field(default_factory=dict)
    results: dict[int, tuple[ResultRef, ...]] = field(default_factory=dict)
    loaded: set[int] = field(default_factory=set)

    def of(self, dossier_id: int) -> tuple[tuple[DocumentRef, ...], tuple[ResultRef, ...]]:
        if dossier_id not in self.loaded:
            self.load([dossier_id])
        return self.documents.get(dossier_id, ()), self.results.get(dossier_id, ())

    def load(self, dossier_ids) -> None:
        wanted = set(dossier_ids) - self.loaded
        if not wanted:
            return
        documents: dict[int, list[DocumentRef]] = {}
        for d in (Document.objects.filter(dossier_id__in=wanted, is_current=True)
                  .select_related("component").order_by("dossier_id", "component__order", "pk")):
            documents.setdefault(d.dossier_id, []).append(DocumentRef(
                component_code=d.component.code, name=d.original_name, sha256=d.sha256,
                file_id=f"{d.dossier_id}-{d.component.code}-v{d.version}",
            ))
        results: dict[int, list[ResultRef]] = {}
        for r in Result.objects.filter(dossier_id__in=wanted).order_by("pk"):
            results.setdefault(r.dossier_id, []).append(ResultRef(
                file_id=f"{r.dossier_id}-result", name=r.number or r.kind, sha256=r.sha256,
            ))
        self.documents.update({k: tuple(v) for k, v in documents.items()})
        self.results.update({k: tuple(v) for k, v in results.items()})
        self.loaded |= wanted


def _needs_attachments(message: OutboundMessage) -> bool:
    return (message.kind == OutboundMessage.Kind.PUSH_DOSSIER
            or bool(message.payload.get("completed_at")))


def attachments_for(messages: list[OutboundMessage]) -> Attachments:
    """What the messages of a batch carry besides their payload, read once for the batch."""
    attachments = Attachments()
    attachments.load({m.dossier_id for m in messages if _needs_attachments(m)})
    return attachments


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def portal_code(payload: dict) -> str:
    """The code the portals know the dossier by: the one a portal gave it, else ours."""
    return payload.get("external_code") or payload["code"]


def snapshot_from(message: OutboundMessage, attachments: Attachments | None = None
                  ) -> DossierSnapshot:
    """The whole dossier as it stood at the change, with its documents as they are now."""
    p = message.payload
    documents, results = (attachments or Attachments()).of(message.dossier_id)
    applicant = p.get("applicant") or {}
    handler = p.get("handler") or {}
    return DossierSnapshot(
        code=portal_code(p), procedure_code=p["procedure_code"],
        procedure_name=p["procedure_name"], state=p["state"], transition=p["transition"],
        channel=p["channel"], at=_when(p["at"]), submitted_at=_when(p.get("submitted_at")),
        applicant_name=applicant.get("name", ""),
        applicant_id=applicant.get("tax_code") or applicant.get("citizen_id") or "",
        applicant_email=applicant.get("email", ""), applicant_phone=applicant.get("phone", ""),
        agency_code=p.get("agency_national_code") or p["agency"],
        agency_name=p.get("agency_name", ""), summary=p.get("summary", ""),
        received_at=_when(p["received_at"]), due_at=_when(p["due_at"]),
        completed_at=_when(p["completed_at"]), returned_at=_when(p["returned_at"]),
        note=p.get("reason", ""), documents=documents, results=results,
        handler_name=handler.get("name", ""), handler_title=handler.get("title", ""),
        department=handler.get("unit", ""), step_started_at=_when(p.get("step_started_at")),
        step_due_at=_when(p.get("step_due_at")),
        new_appointment_at=_when(p.get("new_appointment_at")),
        fees=tuple(Fee(name=f["name"], amount=f["amount"], kind=f.get("kind", "fee"))
                   for f in p.get("fees") or ()),
    )


def progress_from(message: OutboundMessage, attachments: Attachments | None = None
                  ) -> ProgressUpdate:
    p = message.payload
    results = (attachments or Attachments()).of(message.dossier_id)[1] if p["completed_at"] else ()
    handler = p.get("handler") or {}
    return ProgressUpdate(
        dossier_code=portal_code(p), state=p["state"], transition=p["transition"],
        at=_when(p["at"]), note=p.get("reason", ""), due_at=_when(p["due_at"]), results=results,
        handler_name=handler.get("name", ""), handler_title=handler.get("title", ""),
        department=handler.get("unit", ""), step_started_at=_when(p.get("step_started_at")),
        step_due_at=_when(p.get("step_due_at")),
        new_appointment_at=_when(p.get("new_appointment_at")),
        agency_name=p.get("agency_name", ""),
    )


def deliver(message: OutboundMessage, *, attachments: Attachments | None = None) -> str:
    """Send one outbox row; the remote system's reference for it."""
    adapter = get_portal_adapter(message.system)
    if message.kind == OutboundMessage.Kind.PUSH_DOSSIER:
        receipt = adapter.push_dossier(snapshot_from(message, attachments),
                                       idempotency_key=message.idempotency_key)
    else:
        receipt = adapter.push_progress(progress_from(message, attachments),
                                        idempotency_key=message.idempotency_key)
    return receipt.reference

"""Uploads of dossier documents: checked, hashed and stored as a new version."""

import hashlib
import re
import zlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Sum
from django.utils.translation import gettext as _

import filetype

from portal.roles import Role

from ..exceptions import (
    ActiveContentRefused,
    DossierNotFound,
    EmptyFile,
    FileTooLarge,
    InvalidDocument,
    InvalidTransition,
    TransitionForbidden,
    UnsupportedFileType,
)
from ..models import Document, DocumentComponent, Dossier
from .signing import document_schedule_verification
from .workflow import EDITABLE_STATES, _locked

# Active PDF content the portal refuses: scripts and launch actions, as PDF name objects,
# also in their #-escaped spellings such as /J#61vaScript.
_PDF_ACTIVE_NAMES = {b"javascript", b"js", b"launch"}


def _pdf_name_is_active(raw: bytes) -> bool:
    decoded = re.sub(rb"#([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    return decoded.lower() in _PDF_ACTIVE_NAMES


_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
# Decompressed bytes examined per file: enough for any real form, and a cap on zip bombs.
_MAX_INFLATED = 64 * 1024 * 1024


def _names_active(data: bytes) -> bool:
    return any(_pdf_name_is_active(m.group(0)[1:]) for m in re.finditer(rb"/[A-Za-z#0-9]+", data))


def _inflated_streams(content: bytes):
    """The Flate-compressed streams of a PDF, inflated (object streams hide actions there)."""
    budget = _MAX_INFLATED
    for match in _STREAM.finditer(content):
        if budget <= 0:
            return
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(match.group(1), budget)
        except zlib.error:
            continue  # not Flate (images, other filters): nothing we could read there
        budget -= len(data)
        yield data


def _has_active_pdf_content(content: bytes) -> bool:
    return _names_active(content) or any(_names_active(d) for d in _inflated_streams(content))


def sniff_content_type(content: bytes) -> str:
    """The type of a file judged from its bytes, never from its name."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return kind.mime
    return "application/octet-stream"


def _read(uploaded_file) -> bytes:
    limit = settings.UPLOAD_MAX_FILE_BYTES
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise FileTooLarge(extra={"max_bytes": limit, "size": uploaded_file.size})
    content = uploaded_file.read(limit + 1)
    if len(content) > limit:
        raise FileTooLarge(extra={"max_bytes": limit})
    return content


@transaction.atomic(durable=True)
def document_upload(
    *, dossier_id: int, actor, component_code: str, uploaded_file, digitized: bool = False
) -> Document:
    """Store a document for a component; a later upload adds a version and keeps the old one."""
    content = _read(uploaded_file)
    if not content:
        raise EmptyFile()
    dossier = _locked(dossier_id)
    is_owner = dossier.applicant_id == actor.pk
    of_agency = actor.has_role(*Role.STAFF) and actor.agency_code in (
        dossier.handling_agency.code, dossier.reception_agency.code
    )
    is_reception = of_agency and actor.has_role(Role.RECEPTION)
    if not (is_owner or of_agency):
        raise DossierNotFound()
    if not (is_owner or is_reception):
        # Staff who may see the dossier but not add to it: only the desk digitizes papers.
        raise TransitionForbidden()
    open_for_owner = dossier.state in EDITABLE_STATES
    open_for_reception = dossier.state == Dossier.State.SUBMITTED
    if not ((is_owner and open_for_owner) or (is_reception and open_for_reception)):
        raise InvalidTransition(_("Không thể tải giấy tờ lên ở trạng thái hiện tại của hồ sơ."))
    component = DocumentComponent.objects.filter(
        procedure_id=dossier.procedure_id, code=component_code
    ).first()
    if component is None:
        raise InvalidDocument(
            _("Thủ tục không có thành phần hồ sơ này."),
            extra={"component": component_code},
        )
    mime = sniff_content_type(content)
    accepted = component.accepted_types or ["application/pdf"]
    if mime not in accepted:
        raise UnsupportedFileType(extra={"detected": mime, "accepted": accepted})
    if mime == "application/pdf" and _has_active_pdf_content(content):
        raise ActiveContentRefused()

    current = Document.objects.filter(dossier=dossier, is_current=True)
    stored = current.exclude(component=component).aggregate(total=Sum("size"))["total"] or 0
    if stored + len(content) > settings.UPLOAD_MAX_DOSSIER_BYTES:
        raise FileTooLarge(
            _("Tổng dung lượng hồ sơ vượt quá giới hạn."),
            extra={"max_dossier_bytes": settings.UPLOAD_MAX_DOSSIER_BYTES},
        )
    last = Document.objects.filter(dossier=dossier, component=component).aggregate(
        v=Max("version")
    )["v"] or 0
    current.filter(component=component).update(is_current=False)
    document = Document(
        dossier=dossier, component=component, version=last + 1,
        original_name=(getattr(uploaded_file, "name", "") or "file")[:255],
        sha256=hashlib.sha256(content).hexdigest(), size=len(content), content_type=mime,
        uploaded_by=actor, digitized=digitized and is_reception,
    )
    document.file.save(document.original_name, ContentFile(content), save=False)
    try:
        document.save()
        dossier.version += 1
        dossier.save(update_fields=["version", "updated_at"])
        document_schedule_verification(document=document, content=content)
    except Exception:
        # A failed write must not leave an orphan file behind.
        document.file.delete(save=False)
        raise
    return document

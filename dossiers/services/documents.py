"""Uploads of dossier documents: checked, hashed and stored as a new version."""

import hashlib
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils.translation import gettext as _

import filetype

from portal.prepared import Prepared
from portal.roles import Role

from ..exceptions import (
    ActiveContentRefused,
    DossierNotFound,
    EmptyFile,
    FileTooLarge,
    InvalidDocument,
    InvalidPdf,
    InvalidTransition,
    PdfTooComplex,
    PdfUnsupported,
    TransitionForbidden,
    UnsupportedFileType,
)
from ..models import Document, DocumentComponent, Dossier
from ..pdfscan import ACTIVE, LIMIT, MALFORMED, ScanRefused, pdf_scan
from .signing import (
    document_schedule_verification,
    document_verification_prepare,
    verification_fill,
)
from .transitions import dossier_id_checked, dossier_locked
from .workflow import EDITABLE_STATES

_SCAN_ERRORS = {ACTIVE: ActiveContentRefused, LIMIT: PdfTooComplex, MALFORMED: InvalidPdf}


def pdf_check(content: bytes) -> None:
    """A PDF that parses, within the scanner's bounds, with no active content; CPU work that
    never runs inside a transaction (it would hold the database's write lock)."""
    try:
        pdf_scan(content)
    except ScanRefused as exc:
        extra = {"reason": exc.reason, **({"object": exc.where} if exc.where else {})}
        raise _SCAN_ERRORS.get(exc.kind, PdfUnsupported)(extra=extra) from exc


# Unicode categories never kept in a stored name: controls, format characters (bidi overrides
# that disguise an extension), surrogates, private use, unassigned, line and paragraph breaks.
_NAME_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NAME_MAX = 200


def stored_file_name(name: str | None, content_type: str) -> str:
    """The client's file name made safe to store and serve: no path, no control characters,
    and the extension of the type sniffed from the bytes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _NAME_DROPPED)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" .")[:_NAME_MAX].strip(" .") or "tep"
    kind = filetype.get_type(mime=content_type)
    return f"{stem}.{kind.extension}" if kind is not None else stem


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


def _admit(dossier: Dossier | None, *, actor, component_code: str, digitized: bool,
           component: DocumentComponent | None = None):
    """Who may add to this dossier now, and to which component (the same checks before the
    scan, on a plain read, and again under the row lock; `component`, found by the first,
    is not looked up again: a dossier's procedure does not change)."""
    if dossier is None:
        raise DossierNotFound()
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
    if component is None or (component.procedure_id, component.code) != (
            dossier.procedure_id, component_code):
        found = _COMPONENT.rows(procedure_id=dossier.procedure_id, code=str(component_code))
        component = found[0] if found else None
    if component is None:
        raise InvalidDocument(
            _("Thủ tục không có thành phần hồ sơ này."),
            extra={"component": component_code},
        )
    return component, digitized and is_reception


# Compiled once per process: each upload reads its dossier, then its component, this way
# before the transaction opens.
_DOSSIER = Prepared(
    lambda *, shape, dossier_id: Dossier.objects.select_related(
        "handling_agency", "reception_agency", "applicant").filter(pk=dossier_id),
    dossier_id=int)
_COMPONENT = Prepared(
    lambda *, shape, procedure_id, code: DocumentComponent.objects.filter(
        procedure_id=procedure_id, code=code).order_by("pk"),
    procedure_id=int, code=str)


def _dossier_read(dossier_id) -> Dossier | None:
    found = _DOSSIER.rows(dossier_id=dossier_id_checked(dossier_id))
    return found[0] if found else None


def document_upload(
    *, dossier_id: int, actor, component_code: str, uploaded_file, digitized: bool = False
) -> Document:
    """Store a document for a component; a later upload adds a version and keeps the old one.

    The file is read, sniffed, scanned and its signatures verified before the transaction
    opens; the transaction only checks again and writes."""
    content = _read(uploaded_file)
    if not content:
        raise EmptyFile()
    dossier = _dossier_read(dossier_id)
    component, _digitized = _admit(dossier, actor=actor, component_code=component_code,
                                   digitized=digitized)
    mime = sniff_content_type(content)
    accepted = component.accepted_types or ["application/pdf"]
    if mime not in accepted:
        raise UnsupportedFileType(extra={"detected": mime, "accepted": accepted})
    if mime == "application/pdf":
        pdf_check(content)
    name = stored_file_name(getattr(uploaded_file, "name", ""), mime)
    verification = document_verification_prepare(
        dossier=dossier, content=content, content_type=mime, filename=name
    )
    # The file is written before the transaction, which then only checks again and inserts
    # the row: under SQLite every transaction holds the one write lock, and writing the file
    # was a fifth of an upload's hold. Whatever keeps the row from committing deletes the
    # file; a process killed in between leaves it to the orphan sweep, as before.
    stored = _file_write(dossier_id=dossier.pk, name=name, content=content)
    try:
        return _store(dossier_id=dossier_id, actor=actor, component=component,
                      digitized=digitized, content=content, mime=mime, name=name,
                      verification=verification, written=stored)
    except BaseException:
        if not stored.committed:  # a row that committed keeps its file, whatever came after
            default_storage.delete(stored.name)
        raise


@dataclass
class _StoredFile:
    name: str
    sha256: str
    committed: bool = False

    def mark_committed(self) -> None:
        self.committed = True


def _file_write(*, dossier_id: int, name: str, content: bytes) -> _StoredFile:
    """The upload's file, written where the document's `file` field puts it."""
    holder = Document(dossier_id=dossier_id)
    holder.file.save(name, ContentFile(content), save=False)
    return _StoredFile(name=holder.file.name, sha256=hashlib.sha256(content).hexdigest())


def _weight_sql() -> str:
    quote = connection.ops.quote_name
    meta = Document._meta
    table = quote(meta.db_table)
    column = {name: quote(meta.get_field(name).column)
              for name in ("dossier", "component", "is_current", "size", "version")}
    return (
        f"SELECT SUM(CASE WHEN {column['is_current']} AND {column['component']} <> %s "  # nosec B608  # the model's own quoted names; values are parameters
        f"THEN {column['size']} END), "
        f"MAX(CASE WHEN {column['component']} = %s THEN {column['version']} END) "
        f"FROM {table} WHERE {column['dossier']} = %s"
    )


def _weight_and_last_version(*, dossier_id: int, component_id: int) -> tuple[int, int]:
    """What the dossier's current files of the other components weigh, and the component's
    last version (the old versions included), in one statement: the same read through the
    ORM's filtered aggregates cost more to build than to run, under the write lock."""
    with connection.cursor() as cursor:
        cursor.execute(_weight_sql(), [component_id, component_id, dossier_id])
        stored, last = cursor.fetchone()
    return int(stored or 0), int(last or 0)


@transaction.atomic(durable=True)
def _store(*, dossier_id: int, actor, component: DocumentComponent, digitized: bool,
           content: bytes, mime: str, name: str, verification, written: _StoredFile) -> Document:
    transaction.on_commit(written.mark_committed)  # the first thing to run after the commit
    dossier = dossier_locked(dossier_id)
    component, digitized = _admit(dossier, actor=actor, component_code=component.code,
                                  digitized=digitized, component=component)
    stored, last = _weight_and_last_version(dossier_id=dossier.pk, component_id=component.pk)
    if stored + len(content) > settings.UPLOAD_MAX_DOSSIER_BYTES:
        raise FileTooLarge(
            _("Tổng dung lượng hồ sơ vượt quá giới hạn."),
            extra={"max_dossier_bytes": settings.UPLOAD_MAX_DOSSIER_BYTES},
        )
    Document.objects.filter(dossier=dossier, component=component, is_current=True).update(
        is_current=False)
    document = Document(
        dossier=dossier, component=component, version=last + 1, file=written.name,
        original_name=name, sha256=written.sha256, size=len(content),
        content_type=mime, uploaded_by=actor, digitized=digitized,
    )
    if verification is not None:  # verified before the transaction: written with the row
        verification_fill(document, verification)
    document.save()
    dossier.version += 1
    dossier.save(update_fields=["version", "updated_at"])
    if verification is None:
        document_schedule_verification(document=document, content=content)
    return document

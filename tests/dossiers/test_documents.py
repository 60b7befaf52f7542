"""Document uploads and downloads: hashing, sniffing, limits, active content, versions, access."""

import hashlib
import zlib
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import pytest

from dossiers.exceptions import (
    ActiveContentRefused,
    DossierNotFound,
    EmptyFile,
    FileTooLarge,
    InvalidDocument,
    UnsupportedFileType,
)
from dossiers.models import Document, Dossier
from dossiers.services import document_upload
from portal.exceptions import PermissionDenied
from portal.roles import Role
from tests.conftest import PDF_BYTES, PNG_BYTES
from tests.dossiers import hostile_pdfs as hostile
from tests.dossiers.factories import DossierFactory, UserFactory

pytestmark = pytest.mark.django_db

UPLOAD_NOT_ALLOWED = "Không thể tải giấy tờ lên ở trạng thái hiện tại của hồ sơ."


@pytest.fixture(autouse=True)
def storage(settings):
    """A fresh, empty in-memory storage for each test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"base_url": None},
        },
    }
    return default_storage


@pytest.fixture
def draft(applicant) -> Dossier:
    return DossierFactory(applicant=applicant)


@pytest.fixture
def needs_completion(applicant) -> Dossier:
    """A dossier the applicant may still complete and the agency's officers can already see."""
    return DossierFactory(
        applicant=applicant, submitted=True, state=Dossier.State.NEEDS_COMPLETION
    )


def upload(client, dossier, component, file, **fields):
    return client.post(
        reverse("api:dossiers:upload", args=[dossier.pk]),
        {"component": component, "file": file, **fields},
        format="multipart",
    )


def stored_files(storage, dossier) -> list[str]:
    try:
        _, files = storage.listdir(f"dossiers/{dossier.pk}")
    except FileNotFoundError:
        return []
    return files


def pdf_with(action: bytes) -> bytes:
    """A small PDF whose catalog opens with the given action dictionary."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"3 0 obj<<" + action + b">>endobj\ntrailer<</Root 1 0 R>>\n%EOF\n"
    )


def error(code: str, message, extra: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "extra": extra or {}}


def assert_nothing_changed(storage, dossier: Dossier, *, documents: int = 0) -> None:
    version = dossier.version
    dossier.refresh_from_db()
    assert Document.objects.filter(dossier=dossier).count() == documents
    assert dossier.version == version
    assert len(stored_files(storage, dossier)) == documents


# --- a good upload ---------------------------------------------------------------------


def test_applicant_upload_is_hashed_sniffed_and_stored_by_the_server(
    api_client_for, applicant, draft, pdf_file, storage
):
    # The client claims another type; the server judges by the bytes.
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi",
        pdf_file(name="don.pdf", content_type="image/png"),
    )

    assert response.status_code == 201, response.json()
    document = Document.objects.get(dossier=draft)
    assert response.json() == {
        "id": document.pk,
        "component": "don_de_nghi",
        "version": 1,
        "original_name": "don.pdf",
        "sha256": hashlib.sha256(PDF_BYTES).hexdigest(),
        "size": len(PDF_BYTES),
        "content_type": "application/pdf",
        "is_current": True,
        "signature_verdict": "",
        # Verified during the upload: a PDF without any signature.
        "signature_report": response.json()["signature_report"],
        "signature_checked_at": response.json()["signature_checked_at"],
        "signature_decision": "",
        "signature_decided_at": None,
        "digitized": False,
        "created_at": response.json()["created_at"],
    }
    assert response.json()["signature_report"]["signatures"] == []
    assert response.json()["signature_checked_at"] is not None
    with document.file.open("rb") as fh:
        assert fh.read() == PDF_BYTES
    assert document.uploaded_by == applicant
    old_version = draft.version
    draft.refresh_from_db()
    assert draft.version == old_version + 1


def test_stored_file_name_is_random_and_never_the_clients(applicant, draft, storage):
    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile("../../etc/passwd.pdf", PDF_BYTES),
    )

    assert document.file.name.startswith(f"dossiers/{draft.pk}/")
    assert "passwd" not in document.file.name
    assert ".." not in document.file.name
    assert stored_files(storage, draft) == [document.file.name.rsplit("/", 1)[1]]


def test_an_upload_looks_its_component_up_once(applicant, draft):
    """Checked again under the row lock, the dossier's state and the actor's rights are read
    again; the component, found by the first check, is not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        document = document_upload(
            dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
            uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES),
        )

    lookups = [q["sql"] for q in queries if 'FROM "dossiers_documentcomponent"' in q["sql"]]
    assert len(lookups) == 1
    assert document.component.code == "don_de_nghi" and document.dossier_id == draft.pk


def test_an_upload_reads_the_dossier_s_documents_once_and_writes_its_verdict_with_its_row(
    applicant, draft
):
    """Under the lock, the weight of the other files and the component's last version come from
    one read; the signatures checked before the transaction are in the row's INSERT, with no
    UPDATE after it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                    uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))
    with CaptureQueriesContext(connection) as queries:
        document = document_upload(
            dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
            uploaded_file=SimpleUploadedFile("don-2.pdf", PDF_BYTES + b"%2\n"),
        )

    sql = [q["sql"] for q in queries]
    reads = [s for s in sql if s.startswith("SELECT") and 'FROM "dossiers_document"' in s]
    inserts = [s for s in sql if s.startswith('INSERT INTO "dossiers_document"')]
    updates = [s for s in sql if s.startswith('UPDATE "dossiers_document"')]
    assert len(reads) == 1
    assert len(inserts) == 1 and '"signature_verdict"' in inserts[0]
    assert len(updates) == 1 and '"is_current"' in updates[0]  # the superseded version
    stored = Document.objects.get(pk=document.pk)
    assert document.version == stored.version == 2
    assert stored.signature_checked_at is not None
    assert (stored.signature_verdict, stored.signature_report) == (
        document.signature_verdict, document.signature_report)
    assert stored.signature_report["kind"] == "pdf" and stored.signature_report["signatures"] == []


def test_service_computes_the_checksum_from_the_bytes_it_stores(applicant, draft):
    content = PDF_BYTES + b"% a comment makes the bytes differ\n"

    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile("don.pdf", content),
    )

    document.refresh_from_db()
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    with document.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == document.sha256


def test_pdf_named_jpg_is_accepted_as_a_pdf(api_client_for, applicant, draft):
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi",
        SimpleUploadedFile("scan.jpg", PDF_BYTES, content_type="image/jpeg"),
    )

    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "application/pdf"
    assert response.json()["original_name"] == "scan.pdf"  # the sniffed type names it


def test_png_is_accepted_where_the_component_allows_images(api_client_for, applicant, draft):
    response = upload(
        api_client_for(applicant), draft, "ban_ve",
        SimpleUploadedFile("mat-bang.png", PNG_BYTES, content_type="image/png"),
    )

    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "image/png"
    assert response.json()["sha256"] == hashlib.sha256(PNG_BYTES).hexdigest()


def test_file_exactly_at_the_size_limit_is_accepted(
    api_client_for, applicant, draft, pdf_file, settings
):
    settings.UPLOAD_MAX_FILE_BYTES = len(PDF_BYTES)

    response = upload(api_client_for(applicant), draft, "don_de_nghi", pdf_file())

    assert response.status_code == 201, response.json()


def test_applicant_may_upload_while_a_supplement_is_owed(applicant, pdf_file):
    dossier = DossierFactory(
        applicant=applicant, processing=True, state=Dossier.State.AWAITING_SUPPLEMENT
    )

    document = document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )

    assert document.version == 1
    assert document.is_current


# --- bad input changes nothing ----------------------------------------------------------


def test_png_named_pdf_for_a_pdf_only_component_is_refused_with_415(
    api_client_for, applicant, draft, storage
):
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi",
        SimpleUploadedFile("don.pdf", PNG_BYTES, content_type="application/pdf"),
    )

    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_file_type", UnsupportedFileType.default_message,
        {"detected": "image/png", "accepted": ["application/pdf"]},
    )
    assert_nothing_changed(storage, draft)


def test_unrecognisable_bytes_are_refused_as_an_unsupported_type(
    api_client_for, applicant, draft, storage
):
    response = upload(
        api_client_for(applicant), draft, "ban_ve",
        SimpleUploadedFile("ban-ve.pdf", b"just some text, no magic number\n"),
    )

    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_file_type", UnsupportedFileType.default_message,
        {
            "detected": "application/octet-stream",
            "accepted": ["application/pdf", "image/jpeg", "image/png"],
        },
    )
    assert_nothing_changed(storage, draft)


def test_file_over_the_size_limit_is_refused_with_413(
    api_client_for, applicant, draft, pdf_file, settings, storage
):
    settings.UPLOAD_MAX_FILE_BYTES = len(PDF_BYTES) - 1

    response = upload(api_client_for(applicant), draft, "don_de_nghi", pdf_file())

    assert response.status_code == 413
    assert response.json() == error(
        "file_too_large", FileTooLarge.default_message,
        {"max_bytes": len(PDF_BYTES) - 1, "size": len(PDF_BYTES)},
    )
    assert_nothing_changed(storage, draft)


def test_file_that_understates_its_size_is_still_cut_at_the_limit(
    applicant, draft, settings, storage
):
    settings.UPLOAD_MAX_FILE_BYTES = 16
    lying = SimpleUploadedFile("don.pdf", PDF_BYTES)
    lying.size = 10

    with pytest.raises(FileTooLarge) as raised:
        document_upload(
            dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
            uploaded_file=lying,
        )

    assert raised.value.extra == {"max_bytes": 16}
    assert_nothing_changed(storage, draft)


def test_upload_that_takes_the_dossier_over_its_total_limit_is_refused_with_413(
    api_client_for, applicant, draft, pdf_file, settings, storage
):
    limit = len(PDF_BYTES) + len(PNG_BYTES) - 1
    settings.UPLOAD_MAX_DOSSIER_BYTES = limit
    document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )
    draft.refresh_from_db()

    response = upload(
        api_client_for(applicant), draft, "ban_ve", SimpleUploadedFile("ban-ve.png", PNG_BYTES)
    )

    assert response.status_code == 413
    assert response.json() == error(
        "file_too_large", "Tổng dung lượng hồ sơ vượt quá giới hạn.",
        {"max_dossier_bytes": limit},
    )
    assert_nothing_changed(storage, draft, documents=1)


def test_dossier_exactly_at_its_total_limit_is_accepted(
    api_client_for, applicant, draft, pdf_file, settings
):
    settings.UPLOAD_MAX_DOSSIER_BYTES = len(PDF_BYTES) + len(PNG_BYTES)
    document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )

    response = upload(
        api_client_for(applicant), draft, "ban_ve", SimpleUploadedFile("ban-ve.png", PNG_BYTES)
    )

    assert response.status_code == 201, response.json()


def test_new_version_counts_against_the_total_in_place_of_the_one_it_supersedes(
    applicant, draft, pdf_file, settings
):
    settings.UPLOAD_MAX_DOSSIER_BYTES = len(PDF_BYTES) + len(PNG_BYTES)
    for code, content in (("don_de_nghi", PDF_BYTES), ("ban_ve", PNG_BYTES)):
        document_upload(
            dossier_id=draft.pk, actor=applicant, component_code=code,
            uploaded_file=SimpleUploadedFile("f", content),
        )

    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )

    assert document.version == 2


def test_empty_file_is_refused_with_400(api_client_for, applicant, draft, storage):
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi", SimpleUploadedFile("don.pdf", b"")
    )

    assert response.status_code == 400
    assert response.json() == error("empty_file", EmptyFile.default_message)
    assert_nothing_changed(storage, draft)


def test_unknown_component_is_refused_with_400(
    api_client_for, applicant, draft, pdf_file, storage
):
    response = upload(api_client_for(applicant), draft, "khong_co", pdf_file())

    assert response.status_code == 400
    assert response.json() == error(
        "invalid_document", "Thủ tục không có thành phần hồ sơ này.", {"component": "khong_co"}
    )
    assert_nothing_changed(storage, draft)


def test_component_of_another_procedure_is_unknown_here(applicant, draft, pdf_file, storage):
    other = DossierFactory()
    other.procedure.components.filter(code="ban_ve").update(code="chi_o_thu_tuc_khac")

    with pytest.raises(InvalidDocument) as raised:
        document_upload(
            dossier_id=draft.pk, actor=applicant, component_code="chi_o_thu_tuc_khac",
            uploaded_file=pdf_file(),
        )

    assert raised.value.extra == {"component": "chi_o_thu_tuc_khac"}
    assert_nothing_changed(storage, draft)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        pytest.param(b"/Type/Action/S/JavaScript/JS(app.alert(1))", "javascript",
                     id="javascript-action"),
        pytest.param(b"/AA<</O<</JS(app.alert(1))>>>>", "javascript", id="bare-js-key"),
        pytest.param(b"/Type/Action/S/Launch/F(cmd.exe)", "launch", id="launch-action"),
        pytest.param(b"/Type/Action/S/J#61vaScript", "javascript", id="hash-escaped-javascript"),
        pytest.param(b"/Type/Action/S/L#61unch/F(cmd.exe)", "launch", id="hash-escaped-launch"),
        pytest.param(
            b"/Type/Action/S/#4a#61#76#61#53#63#72#69#70#74", "javascript",
            id="fully-escaped-lowercase-hex"
        ),
        pytest.param(b"/Type/Action/S/SubmitForm/F(https://x.test/)", "submit_form",
                     id="submit-form"),
        pytest.param(b"/Type/Action/S/ImportData/F(data.fdf)", "import_data", id="import-data"),
        pytest.param(b"/Type/Action/S/GoToR/F(other.pdf)/D[0/Fit]", "remote_goto", id="gotor"),
        pytest.param(b"/Type/Action/S/URI/URI(https://x.test/)", "automatic_uri",
                     id="uri-on-open"),
    ],
)
def test_pdf_with_active_content_is_refused_with_400(
    api_client_for, applicant, draft, storage, action, reason
):
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi",
        SimpleUploadedFile("don.pdf", pdf_with(action)),
    )

    assert response.status_code == 400
    where = "1 0" if reason == "automatic_uri" else "3 0"
    assert response.json() == error("active_content", ActiveContentRefused.default_message,
                                    {"reason": reason, "object": where})
    assert_nothing_changed(storage, draft)


def test_pdf_that_only_mentions_javascript_in_its_text_is_accepted(applicant, draft):
    content = pdf_with(b"/Type/Annot/Contents(JavaScript and Launch are only words here)")

    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile("don.pdf", content),
    )

    assert document.content_type == "application/pdf"


def test_javascript_hidden_in_a_compressed_object_stream_is_refused(applicant, draft, storage):
    header = b"3 0\n"
    body = zlib.compress(header + b"<</Type/Action/S/JavaScript/JS(app.alert(1))>>")
    stream = b"4 0 obj<</Type/ObjStm/N 1/First %d/Filter/FlateDecode/Length %d>>stream\n" % (
        len(header), len(body)
    )
    content = (
        b"%PDF-1.5\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + stream
        + body
        + b"\nendstream\nendobj\ntrailer<</Root 1 0 R>>\n%EOF\n"
    )
    assert b"JavaScript" in zlib.decompress(body)

    with pytest.raises(ActiveContentRefused):
        document_upload(
            dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
            uploaded_file=SimpleUploadedFile("don.pdf", content),
        )

    assert_nothing_changed(storage, draft)


@pytest.mark.parametrize(("content", "code", "reason"), [
    pytest.param(b"%PDF-1.7\n" + bytes(range(256)) * 8, "invalid_pdf", "no_catalog",
                 id="garbage-after-the-header"),
    pytest.param(hostile.build(hostile.with_catalog(o3=b"[" * 500 + b"]" * 500)),
                 "pdf_too_complex", "depth", id="nested-array"),
    pytest.param(hostile.build(hostile.with_catalog(
        o3=hostile.stream(b"x", b"/Filter/BrotliDecode"))), "pdf_unsupported", "filter",
        id="unknown-filter"),
    pytest.param(hostile.build(hostile.with_catalog(
        b"/Names<</EmbeddedFiles<</Names[(a)3 0 R]>>>>",
        o3=b"<</Type/Filespec/F(a.exe)/EF<</F 4 0 R>>>>",
        o4=hostile.stream(zlib.compress(b"MZ\x90\x00" + bytes(64)),
                          b"/Type/EmbeddedFile/Filter/FlateDecode"))),
        "active_content", "embedded_executable", id="embedded-executable"),
    pytest.param(hostile.build(hostile.with_catalog(b"/OpenAction 3 0 R", o9=hostile.object_stream(
        {3: hostile.JS_ACTION}, ("ASCIIHexDecode", "FlateDecode")))),
        "active_content", "javascript", id="javascript-behind-two-filters"),
])
def test_a_pdf_the_scanner_refuses_is_a_400_with_its_reason_and_nothing_is_stored(
    api_client_for, applicant, draft, storage, content, code, reason
):
    response = upload(api_client_for(applicant), draft, "don_de_nghi",
                      SimpleUploadedFile("don.pdf", content))

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["extra"]["reason"]) == (code, reason)
    assert body["message"]
    assert_nothing_changed(storage, draft)


@pytest.mark.django_db(transaction=True)
def test_the_scan_and_the_signature_check_run_outside_any_transaction(
    applicant, monkeypatch, storage
):
    from django.db import connection

    from dossiers.services import documents, signing

    dossier = DossierFactory(applicant=applicant)
    seen = []
    real_scan, real_verify = documents.pdf_scan, signing.signature_verify

    def scan(content, *args, **kwargs):
        seen.append(("scan", connection.in_atomic_block))
        return real_scan(content, *args, **kwargs)

    def verify(**kwargs):
        seen.append(("verify", connection.in_atomic_block))
        return real_verify(**kwargs)

    monkeypatch.setattr(documents, "pdf_scan", scan)
    monkeypatch.setattr(signing, "signature_verify", verify)
    document_upload(dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
                    uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES))

    assert seen == [("scan", False), ("verify", False)]
    assert Document.objects.get(dossier=dossier).signature_checked_at is not None


@pytest.mark.parametrize(("name", "content", "stored"), [
    ("../../etc/passwd.pdf", PDF_BYTES, "passwd.pdf"),
    ("C:\\Users\\an\\Đơn đề nghị.pdf", PDF_BYTES, "Đơn đề nghị.pdf"),
    ("hoso\u202egpj.exe", PDF_BYTES, "hosogpj.pdf"),
    ("a\x00b\r\nc\x1b.pdf", PDF_BYTES, "abc.pdf"),
    ("ban-ve.pdf", PNG_BYTES, "ban-ve.png"),
    ("...", PDF_BYTES, "tep.pdf"),
    ("De\u0300 nghi\u0323.pdf", PDF_BYTES, "Dè nghị.pdf"),
    ("x" * 300 + ".pdf", PDF_BYTES, "x" * 200 + ".pdf"),
], ids=["path", "windows-path", "bidi-override", "controls", "sniffed-extension", "dots-only",
        "decomposed", "too-long"])
def test_the_stored_file_name_is_sanitized(applicant, draft, name, content, stored):
    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="ban_ve",
        uploaded_file=SimpleUploadedFile(name, content),
    )

    assert document.original_name == stored


# --- versions ---------------------------------------------------------------------------


def test_second_upload_adds_version_two_and_keeps_version_one_untouched(
    api_client_for, applicant, draft, storage
):
    client = api_client_for(applicant)
    first_bytes = PDF_BYTES
    second_bytes = PDF_BYTES + b"% revised\n"
    first = upload(client, draft, "don_de_nghi", SimpleUploadedFile("v1.pdf", first_bytes))
    second = upload(client, draft, "don_de_nghi", SimpleUploadedFile("v2.pdf", second_bytes))

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert second.json()["is_current"] is True
    old = Document.objects.get(pk=first.json()["id"])
    new = Document.objects.get(pk=second.json()["id"])
    assert (old.version, old.is_current) == (1, False)
    assert (new.version, new.is_current) == (2, True)
    assert old.file.name != new.file.name
    with old.file.open("rb") as fh:
        assert fh.read() == first_bytes
    assert old.sha256 == hashlib.sha256(first_bytes).hexdigest()
    with new.file.open("rb") as fh:
        assert fh.read() == second_bytes
    assert len(stored_files(storage, draft)) == 2

    listing = client.get(reverse("api:dossiers:documents", args=[draft.pk]))
    assert [(d["version"], d["is_current"]) for d in listing.json()] == [(2, True), (1, False)]


def test_versions_are_counted_per_component(applicant, draft, pdf_file):
    document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )

    drawing = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="ban_ve", uploaded_file=pdf_file()
    )

    assert drawing.version == 1
    assert Document.objects.filter(dossier=draft, is_current=True).count() == 2


# --- who may upload, and when -----------------------------------------------------------


@pytest.mark.parametrize(
    "traits",
    [
        {"submitted": True},
        {"processing": True},
        {"pending_approval": True},
        {"approved": True},
        {"result_ready": True},
        {"submitted": True, "state": Dossier.State.WITHDRAWN},
    ],
    ids=lambda traits: "-".join(str(v) for v in traits.values()),
)
def test_applicant_cannot_upload_once_the_dossier_has_left_their_hands(
    api_client_for, applicant, pdf_file, storage, traits
):
    dossier = DossierFactory(applicant=applicant, **traits)

    response = upload(api_client_for(applicant), dossier, "don_de_nghi", pdf_file())

    assert response.status_code == 409
    assert response.json() == error("invalid_transition", UPLOAD_NOT_ALLOWED)
    assert_nothing_changed(storage, dossier)


def test_reception_digitizes_a_document_of_a_submitted_dossier(
    api_client_for, reception, pdf_file
):
    dossier = DossierFactory(submitted=True)

    response = upload(
        api_client_for(reception), dossier, "don_de_nghi", pdf_file(), digitized="true"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["digitized"] is True
    assert Document.objects.get(dossier=dossier).uploaded_by == reception


def test_applicant_cannot_mark_their_own_upload_as_digitized(
    api_client_for, applicant, draft, pdf_file
):
    response = upload(
        api_client_for(applicant), draft, "don_de_nghi", pdf_file(), digitized="true"
    )

    assert response.status_code == 201
    assert response.json()["digitized"] is False


def test_reception_cannot_upload_once_processing_has_started(
    api_client_for, reception, pdf_file, storage
):
    dossier = DossierFactory(processing=True)

    response = upload(api_client_for(reception), dossier, "don_de_nghi", pdf_file())

    assert response.status_code == 409
    assert response.json() == error("invalid_transition", UPLOAD_NOT_ALLOWED)
    assert_nothing_changed(storage, dossier)


def test_another_applicant_uploading_gets_404_and_nothing_is_stored(
    api_client_for, other_applicant, draft, pdf_file, storage
):
    response = upload(api_client_for(other_applicant), draft, "don_de_nghi", pdf_file())

    assert response.status_code == 404
    assert response.json() == error("dossier_not_found", DossierNotFound.default_message)
    assert_nothing_changed(storage, draft)


def test_service_refuses_another_applicants_upload_as_not_found(
    other_applicant, draft, pdf_file, storage
):
    with pytest.raises(DossierNotFound):
        document_upload(
            dossier_id=draft.pk, actor=other_applicant, component_code="don_de_nghi",
            uploaded_file=pdf_file(),
        )

    assert_nothing_changed(storage, draft)


def test_officer_of_another_agency_uploading_gets_404(api_client_for, pdf_file, storage):
    dossier = DossierFactory(submitted=True)
    stranger = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code="khac")

    response = upload(api_client_for(stranger), dossier, "don_de_nghi", pdf_file())

    assert response.status_code == 404
    assert response.json() == error("dossier_not_found", DossierNotFound.default_message)
    assert_nothing_changed(storage, dossier)


def test_unauthenticated_upload_is_refused(api_client_for, draft, pdf_file, storage):
    response = upload(api_client_for(), draft, "don_de_nghi", pdf_file())

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert_nothing_changed(storage, draft)


def test_manager_of_the_agency_uploading_gets_403(api_client_for, manager, pdf_file, storage):
    dossier = DossierFactory(submitted=True)

    response = upload(api_client_for(manager), dossier, "don_de_nghi", pdf_file())

    assert response.status_code == 403
    assert response.json() == error("permission_denied", PermissionDenied.default_message)
    assert_nothing_changed(storage, dossier)


def test_specialist_cannot_upload_in_place_of_reception(
    api_client_for, specialist, pdf_file, storage
):
    dossier = DossierFactory(submitted=True)

    response = upload(
        api_client_for(specialist), dossier, "don_de_nghi", pdf_file(), digitized="true"
    )

    assert response.status_code == 403
    assert response.json() == error("permission_denied", PermissionDenied.default_message)
    assert_nothing_changed(storage, dossier)


# --- download ---------------------------------------------------------------------------


@pytest.fixture
def document(applicant, needs_completion, pdf_file) -> Document:
    return document_upload(
        dossier_id=needs_completion.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(name="don.pdf"),
    )


def download(client, document):
    return client.get(reverse("api:dossiers:download", args=[document.pk]))


def test_owner_downloads_the_bytes_as_an_attachment_that_is_not_sniffed(
    api_client_for, applicant, document
):
    response = download(api_client_for(applicant), document)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="don.pdf"'
    assert "no-store" in response["Cache-Control"]
    response.close()


def test_download_is_served_with_the_sniffed_type_not_the_name(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)
    document = document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="ban_ve",
        uploaded_file=SimpleUploadedFile("ban-ve.pdf", PNG_BYTES, content_type="application/pdf"),
    )

    response = download(api_client_for(applicant), document)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    response.close()


def test_download_keeps_a_vietnamese_file_name(api_client_for, applicant, draft):
    name = "Đơn đề nghị.pdf"
    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile(name, PDF_BYTES),
    )

    response = download(api_client_for(applicant), document)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"filename*=utf-8''{quote(name)}" in response["Content-Disposition"]
    response.close()


def test_another_applicant_downloading_gets_404(api_client_for, other_applicant, document):
    response = download(api_client_for(other_applicant), document)

    assert response.status_code == 404
    assert response.json() == error("dossier_not_found", DossierNotFound.default_message)


def test_officer_of_the_agency_downloads_the_document(api_client_for, reception, document):
    response = download(api_client_for(reception), document)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_officer_of_another_agency_downloading_gets_404(api_client_for, document):
    stranger = UserFactory(roles=[Role.RECEPTION], kind="staff", agency_code="khac")

    response = download(api_client_for(stranger), document)

    assert response.status_code == 404
    assert response.json() == error("dossier_not_found", DossierNotFound.default_message)


def test_officers_cannot_download_from_a_draft(api_client_for, applicant, reception, draft):
    document = document_upload(
        dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile("don.pdf", PDF_BYTES),
    )

    response = download(api_client_for(reception), document)

    assert response.status_code == 404


def test_superseded_version_can_still_be_downloaded_by_its_owner(
    api_client_for, applicant, needs_completion, document
):
    document_upload(
        dossier_id=needs_completion.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=SimpleUploadedFile("v2.pdf", PDF_BYTES + b"% v2\n"),
    )

    response = download(api_client_for(applicant), document)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    response.close()


def test_unknown_document_is_404(api_client_for, applicant, document):
    response = api_client_for(applicant).get(
        reverse("api:dossiers:download", args=[document.pk + 1000])
    )

    assert response.status_code == 404
    assert response.json() == error("dossier_not_found", DossierNotFound.default_message)


@pytest.mark.parametrize("dossier_id", ["abc", None, 0, -1, 2**63, "12x"])
def test_an_upload_to_an_id_no_dossier_can_have_is_not_found_and_stores_nothing(
        applicant, pdf_file, dossier_id):
    with pytest.raises(DossierNotFound):
        document_upload(dossier_id=dossier_id, actor=applicant, component_code="don_de_nghi",
                        uploaded_file=pdf_file())
    assert not Document.objects.exists()


# --- the file and the transaction ------------------------------------------------------


def test_the_file_is_written_before_the_transaction_takes_the_dossier_s_lock(
    applicant, draft, pdf_file, storage, monkeypatch
):
    from dossiers.services import documents

    seen = []
    locked = documents.dossier_locked

    def lock_and_look(dossier_id, **kwargs):
        seen.append(stored_files(storage, draft))
        return locked(dossier_id, **kwargs)

    monkeypatch.setattr(documents, "dossier_locked", lock_and_look)

    document = document_upload(dossier_id=draft.pk, actor=applicant,
                               component_code="don_de_nghi", uploaded_file=pdf_file())

    # The lock found the file already there: the transaction only inserts the row.
    assert seen == [[document.file.name.rsplit("/", 1)[1]]]
    assert document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    with storage.open(document.file.name) as stored:
        assert stored.read() == PDF_BYTES


def test_an_insert_that_fails_in_the_transaction_leaves_no_file_and_no_row(
    applicant, draft, pdf_file, storage, monkeypatch
):
    from django.db import DatabaseError

    def refuse(self, *args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(Document, "save", refuse)

    with pytest.raises(DatabaseError):
        document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                        uploaded_file=pdf_file())

    monkeypatch.undo()
    assert_nothing_changed(storage, draft)


def test_a_draft_deleted_while_its_file_was_written_keeps_no_file(
    applicant, draft, pdf_file, storage, monkeypatch
):
    from dossiers.services import documents

    written = documents._file_write

    def write_then_submit(**kwargs):
        stored = written(**kwargs)
        # Another request deletes the draft before this upload's transaction opens.
        Dossier.objects.filter(pk=draft.pk).delete()
        return stored

    monkeypatch.setattr(documents, "_file_write", write_then_submit)

    with pytest.raises(DossierNotFound):
        document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                        uploaded_file=pdf_file())

    assert not Document.objects.filter(dossier_id=draft.pk).exists()
    assert stored_files(storage, draft) == []


@pytest.mark.django_db(transaction=True)
def test_an_error_after_the_commit_keeps_the_committed_row_s_file(
    applicant, draft, pdf_file, storage, monkeypatch
):
    from django.db import transaction

    from dossiers.services import documents

    filled = documents.verification_fill

    def fill_and_fail_after_commit(document, outcome):
        # A side effect of the same transaction that raises once it has committed.
        transaction.on_commit(lambda: (_ for _ in ()).throw(RuntimeError("after commit")))
        return filled(document, outcome)

    monkeypatch.setattr(documents, "verification_fill", fill_and_fail_after_commit)

    with pytest.raises(RuntimeError, match="after commit"):
        document_upload(dossier_id=draft.pk, actor=applicant, component_code="don_de_nghi",
                        uploaded_file=pdf_file())

    # The row committed: its file stays.
    [document] = Document.objects.filter(dossier=draft)
    assert stored_files(storage, draft) == [document.file.name.rsplit("/", 1)[1]]

"""Files left by a process killed between writing a file and committing its row, and the
spool of large uploads that no killed worker can leave behind (the kills themselves, against a
real gunicorn, are in test_upload_kill.py)."""

import os
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

import pytest

from dossiers import services
from dossiers.models import Document, Result
from dossiers.services.orphans import stored_files_sweep
from dossiers.tasks import sweep_orphan_files
from portal.celery import app
from portal.uploads import UnnamedTemporaryFileUploadHandler
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

LARGE_PDF = PDF_BYTES + (b"%" + b"x" * 1000 + b"\n") * 6200  # over the in-memory limit


@pytest.fixture
def own_storage(settings, tmp_path):
    """A storage folder of this test alone: files other tests left behind are not its business."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path / "media", "base_url": None}}}


@pytest.fixture
def stored(own_storage, applicant, pdf_file):
    """A dossier with one stored document, and files that no row names beside it."""
    dossier = DossierFactory(applicant=applicant)
    document = services.document_upload(dossier_id=dossier.pk, actor=applicant,
                                         component_code="don_de_nghi", uploaded_file=pdf_file())
    orphans = [
        default_storage.save(f"dossiers/{dossier.pk}/{'a' * 32}", ContentFile(b"%PDF-1.4 lost")),
        default_storage.save("results/ket-qua-lost.pdf", ContentFile(b"%PDF-1.4 lost result")),
    ]
    issued = Result.objects.create(
        dossier=DossierFactory(processing=True), kind=Result.Kind.LICENCE, issued_at=timezone.now(),
        file=default_storage.save("results/ket-qua-issued.pdf", ContentFile(b"%PDF-1.4 issued")))
    yield document, orphans
    for name in [document.file.name, issued.file.name, *orphans]:
        default_storage.delete(name)


def test_the_sweep_deletes_only_old_files_that_no_row_names(stored):
    document, orphans = stored

    assert stored_files_sweep() == []  # written just now: their transaction may still commit
    assert sorted(stored_files_sweep(older_than=timedelta(0), dry_run=True)) == sorted(orphans)
    assert all(default_storage.exists(name) for name in orphans)

    assert sorted(stored_files_sweep(older_than=timedelta(0))) == sorted(orphans)

    assert not any(default_storage.exists(name) for name in orphans)
    assert default_storage.open(Document.objects.get().file.name).read() == PDF_BYTES
    assert default_storage.open(Result.objects.get().file.name).read() == b"%PDF-1.4 issued"
    assert stored_files_sweep(older_than=timedelta(0)) == []


def test_the_command_and_the_beat_task_run_the_sweep(stored, capsys):
    _document, orphans = stored

    call_command("sweep_orphan_files", "--older-than-minutes", "0", "--dry-run")
    assert f"would delete {orphans[0]}" in capsys.readouterr().out
    assert sweep_orphan_files() == 0  # the task keeps the default hour
    call_command("sweep_orphan_files", "--older-than-minutes", "0")

    assert capsys.readouterr().out.endswith("2 orphan file(s) deleted.\n")
    assert not any(default_storage.exists(name) for name in orphans)
    assert "dossiers.tasks.sweep_orphan_files" in {
        entry["task"] for entry in app.conf.beat_schedule.values()}


def test_a_large_upload_spools_to_a_file_without_a_name(tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    handler = UnnamedTemporaryFileUploadHandler()
    handler.new_file("file", "don.pdf", "application/pdf", len(LARGE_PDF))
    for start in range(0, len(LARGE_PDF), 64 * 1024):
        handler.receive_data_chunk(LARGE_PDF[start:start + 64 * 1024], start)
        # Mid-upload: nothing in the directory a killed worker would leave behind.
        assert list(tmp_path.iterdir()) == []
    uploaded = handler.file_complete(len(LARGE_PDF))
    target = os.readlink(f"/proc/self/fd/{uploaded.file.fileno()}")

    assert (uploaded.name, uploaded.size, uploaded.read()) == ("don.pdf", len(LARGE_PDF),
                                                               LARGE_PDF)
    assert target.startswith(str(tmp_path)) and not os.path.exists(target)
    uploaded.close()


def test_a_large_upload_through_the_api_is_stored_whole(applicant, api_client_for, tmp_path,
                                                         settings, monkeypatch):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    dossier = DossierFactory(applicant=applicant)
    spooled = []
    new_file = UnnamedTemporaryFileUploadHandler.new_file

    def spy(self, *args, **kwargs):
        spooled.append(args[1])
        return new_file(self, *args, **kwargs)

    monkeypatch.setattr(UnnamedTemporaryFileUploadHandler, "new_file", spy)

    response = api_client_for(applicant).post(
        reverse("api:dossiers:upload", args=[dossier.pk]),
        {"component": "don_de_nghi", "file": ContentFile(LARGE_PDF, name="don.pdf")},
        format="multipart")

    assert response.status_code == 201, response.content
    assert spooled == ["don.pdf"]
    document = Document.objects.get(dossier=dossier)
    assert default_storage.open(document.file.name).read() == LARGE_PDF
    assert list(tmp_path.iterdir()) == []
    default_storage.delete(document.file.name)

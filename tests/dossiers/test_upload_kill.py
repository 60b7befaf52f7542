"""A gunicorn worker killed in the middle of a document upload: nothing half stored, nothing
left on disk that the portal would keep, and the same upload succeeds once the master has
started a new worker. PostgreSQL only: gunicorn is another process on the test database."""

import hashlib
import importlib.util
import io
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from django.core.management import call_command
from django.db import connection

import pytest
import requests
from rest_framework.authtoken.models import Token

from dossiers.models import Document, Dossier
from tests.conftest import PDF_BYTES
from tests.dossiers.factories import DossierFactory
from tests.dossiers.test_sync_faults import ROOT, pool_children, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def assert_audit_intact() -> None:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)  # raises on a broken link
    assert out.getvalue().strip().endswith("Audit log intact.")


COMPONENT = "don_de_nghi"
# Over FILE_UPLOAD_MAX_MEMORY_SIZE, so the upload spools to a temporary file while it is read;
# a PDF that the scan admits (the padding is a comment after the end marker).
LARGE_PDF = PDF_BYTES + (b"%" + b"x" * 1000 + b"\n") * 6200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def open_files_under(pid: int, root: Path) -> list[str]:
    """What the process has open under `root` (a file without a name shows as `#inode`)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(root)):
            found.append(target)
    return found


class Gunicorn:
    def __init__(self, tmp_path: Path):
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.db_url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        self.media = tmp_path / "media"
        self.spool = tmp_path / "spool"  # the workers' temporary directory (TMPDIR)
        self.media.mkdir()
        self.spool.mkdir()
        self.port = free_port()
        self.env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_COOKIES": "0", "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_HSTS_SECONDS": "0", "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.db_url, "PRIVATE_MEDIA_ROOT": str(self.media),
            "TMPDIR": str(self.spool), "CELERY_BROKER_URL": "", "CACHE_URL": "locmemcache://",
        }
        self.log = tmp_path / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", "1",
                 "-b", f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        self.wait_ready()

    def answers(self) -> bool:
        try:
            return requests.get(self.url + "/", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    def wait_ready(self, *, not_worker: int | None = None) -> int:
        """The worker's pid once the server answers (a new one, not `not_worker`)."""
        def ready() -> bool:
            if self.process.poll() is not None:
                return True
            children = pool_children(self.process.pid)
            return len(children) == 1 and not_worker not in children and self.answers()

        wait_for(ready, timeout=60, what="gunicorn to answer")
        assert self.process.poll() is None, self.log.read_text()
        [worker] = pool_children(self.process.pid)
        return worker

    def kill_worker(self) -> int:
        [worker] = pool_children(self.process.pid)
        os.kill(worker, signal.SIGKILL)
        return worker

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("needs gunicorn (the dev extra pins it)")
    server = Gunicorn(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def draft(applicant):
    dossier = DossierFactory(applicant=applicant)
    token = Token.objects.create(user=applicant)
    return dossier, token.key


def upload_path(dossier: Dossier) -> str:
    return f"/api/v1/dossiers/{dossier.pk}/documents/upload/"


def multipart(content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"component\"\r\n\r\n"
        f"{COMPONENT}\r\n--{boundary}\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"don.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def raw_upload(server: Gunicorn, dossier: Dossier, key: str, content: bytes,
               *, send_bytes: int | None = None) -> socket.socket:
    """Send the upload's head and `send_bytes` of its body (all of it by default); the
    answer is left unread."""
    content_type, body = multipart(content)
    head = (
        f"POST {upload_path(dossier)} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Token {key}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + body[:send_bytes])
    return sock


def upload(server: Gunicorn, dossier: Dossier, key: str, content: bytes) -> requests.Response:
    return requests.post(server.url + upload_path(dossier),
                         headers={"Authorization": f"Token {key}"},
                         data={"component": COMPONENT},
                         files={"file": ("don.pdf", content, "application/pdf")}, timeout=30)


def draft_state(dossier: Dossier) -> tuple:
    row = Dossier.objects.get(pk=dossier.pk)
    current = list(Document.objects.filter(dossier=dossier).order_by("version").values_list(
        "version", "is_current", "sha256"))
    return row.state, row.version, row.updated_at, current


def assert_stored_once(server: Gunicorn, dossier: Dossier, content: bytes, version: int):
    document = Document.objects.get(dossier=dossier, version=version)
    assert document.is_current and document.sha256 == hashlib.sha256(content).hexdigest()
    assert (server.media / document.file.name).read_bytes() == content


def test_a_worker_killed_while_reading_an_upload_leaves_nothing_and_the_retry_succeeds(
    gunicorn, draft
):
    dossier, key = draft
    before = draft_state(dossier)
    [worker] = pool_children(gunicorn.process.pid)

    # A third of a 6 MB body, then silence: the worker waits for the rest, the file spooling.
    sock = raw_upload(gunicorn, dossier, key, LARGE_PDF, send_bytes=2 * 1024 * 1024)
    try:
        wait_for(lambda: bool(open_files_under(worker, gunicorn.spool)), timeout=15,
                 what="the worker to spool the upload")
        assert gunicorn.kill_worker() == worker
    finally:
        sock.close()

    assert draft_state(dossier) == before
    assert not Document.objects.filter(dossier=dossier).exists()
    assert files_under(gunicorn.media) == []
    assert list(gunicorn.spool.iterdir()) == []  # the spooled part died with the worker

    gunicorn.wait_ready(not_worker=worker)
    response = upload(gunicorn, dossier, key, LARGE_PDF)

    assert response.status_code == 201, response.text
    assert_stored_once(gunicorn, dossier, LARGE_PDF, version=1)
    assert len(files_under(gunicorn.media)) == 1
    assert list(gunicorn.spool.iterdir()) == []
    assert Dossier.objects.get(pk=dossier.pk).version == before[1] + 1
    assert_audit_intact()


def waiting_on_a_lock(lock_pid: int) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> %s", [lock_pid])
        return cursor.fetchall()


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 1


def test_a_worker_killed_after_writing_the_file_before_the_commit_leaves_a_file_the_sweep_removes(  # noqa: E501
    gunicorn, draft
):
    import psycopg

    dossier, key = draft
    first = PDF_BYTES
    assert upload(gunicorn, dossier, key, first).status_code == 201
    before = draft_state(dossier)
    [kept] = files_under(gunicorn.media)
    second = PDF_BYTES.replace(b"%%EOF", b"% second version\n%%EOF")
    component_id = Document.objects.get(dossier=dossier).component_id

    # Another transaction holds version 2 of the component, uncommitted: the upload's insert of
    # version 2 waits on the unique index, after its file is written and before its commit.
    with psycopg.connect(gunicorn.db_url) as blocker:
        blocker.execute(
            "INSERT INTO dossiers_document (created_at, updated_at, dossier_id, component_id, "
            "version, file, original_name, sha256, size, content_type, uploaded_by_id, "
            "is_current, signature_verdict, signature_decision, signature_decision_note, "
            "digitized, reuse_source) VALUES (now(), now(), %s, %s, 2, 'held', 'held', '', 1, "
            "'application/pdf', %s, false, '', '', '', false, '')",
            [dossier.pk, component_id, dossier.applicant_id])
        lock_pid = blocker.info.backend_pid
        sock = raw_upload(gunicorn, dossier, key, second)
        try:
            wait_for(lambda: len(files_under(gunicorn.media)) == 2
                     and bool(waiting_on_a_lock(lock_pid)),
                     timeout=15, what="the upload to write its file and wait for its insert")
            [(backend, statement)] = waiting_on_a_lock(lock_pid)
            assert statement.startswith('INSERT INTO "dossiers_document"'), statement
            worker = gunicorn.kill_worker()
        finally:
            sock.close()
        blocker.rollback()
    wait_for(lambda: not backend_alive(backend), timeout=15,
             what="PostgreSQL to end the killed worker's transaction")

    assert draft_state(dossier) == before  # nothing of the second version committed
    [orphan] = [p for p in files_under(gunicorn.media) if p != kept]
    assert orphan.read_bytes() == second

    # What cron or the beat runs, with no grace (it keeps files younger than an hour).
    out = gunicorn.manage("sweep_orphan_files", "--older-than-minutes", "0")
    assert f"deleted {orphan.relative_to(gunicorn.media)}" in out
    assert files_under(gunicorn.media) == [kept]
    assert kept.read_bytes() == first

    gunicorn.wait_ready(not_worker=worker)
    response = upload(gunicorn, dossier, key, second)

    assert response.status_code == 201, response.text
    assert_stored_once(gunicorn, dossier, second, version=2)
    assert not Document.objects.get(dossier=dossier, version=1).is_current
    assert len(files_under(gunicorn.media)) == 2
    assert_audit_intact()

"""Benchmark at scale: every figure of the portal beside a baseline measured in the same run.

Run: .venv/bin/python bench/scale.py [--dossiers 1000000] [--workers 2]   (or `make bench`)
     .venv/bin/python bench/scale.py --sqlite [--dossiers 20000]          (the embedded default)

It starts its own PostgreSQL and Redis on free loopback ports (stopped again on exit, Ctrl-C
included), migrates a fresh database, seeds N dossiers with their transition logs (valid hash
chains), process steps, clock intervals and daily summaries by COPY, runs gunicorn on loopback and
drives it with a bounded load generator (every loop bounded in count and in time). Figures go to
bench/results/latest.json (latest-sqlite.json with --sqlite) and the table in bench/RESULTS.md.
"""

import argparse
import contextlib
import glob
import json
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS_DIR = ROOT / "bench" / "results"
PASSWORD = "motcua-demo-2025"  # the demo accounts' password (dossiers/services/demo.py)
PYTHON = sys.executable
# The environment the run was started in, before it set the portal's own variables for itself.
STARTING_ENV = dict(os.environ)

# Final states with their weight per 10,000 dossiers: most of five years' dossiers are closed,
# about one in ten is still open (drafts and the officers' queues, with the backlog of a
# department behind on its work: the overdue export lists tens of thousands of them).
STATE_WEIGHTS = {
    "returned": 7840, "result_ready": 150, "refused": 300, "rejected": 250, "withdrawn": 200,
    "processing": 700, "awaiting_supplement": 90, "suspended": 30, "pending_approval": 150,
    "approved": 40, "submitted": 110, "needs_completion": 40, "draft": 100,
}
OPEN_STATES = {"processing", "awaiting_supplement", "suspended", "pending_approval", "approved",
               "submitted", "needs_completion", "draft"}
CHANNEL_WEIGHTS = {"online": 68, "counter": 17, "post": 5, "national_portal": 7,
                   "provincial_portal": 3}
# The path of transitions leading to each final state (name, from, to).
_HEAD = [("submit", "draft", "submitted"), ("accept", "submitted", "processing")]
_DECIDE = [("propose", "processing", "pending_approval"),
           ("approve", "pending_approval", "approved")]
PATHS = {
    "draft": [],
    "submitted": _HEAD[:1],
    "needs_completion": _HEAD[:1] + [("return_for_completion", "submitted", "needs_completion")],
    "rejected": _HEAD[:1] + [("refuse_at_reception", "submitted", "rejected")],
    "processing": _HEAD,
    "awaiting_supplement": _HEAD + [("request_supplement", "processing", "awaiting_supplement")],
    "suspended": _HEAD + [("suspend", "processing", "suspended")],
    "pending_approval": _HEAD + _DECIDE[:1],
    "approved": _HEAD + _DECIDE,
    "refused": _HEAD + _DECIDE[:1] + [("refuse", "pending_approval", "refused")],
    "result_ready": _HEAD + _DECIDE + [("issue_result", "approved", "result_ready")],
    "returned": _HEAD + _DECIDE + [("issue_result", "approved", "result_ready"),
                                   ("return_result", "result_ready", "returned")],
    "withdrawn": _HEAD + [("withdraw", "processing", "withdrawn")],
}
DISTRICTS = ["Đông Hà", "Quảng Trị", "Vĩnh Linh", "Gio Linh", "Cam Lộ", "Triệu Phong",
             "Hải Lăng", "Hướng Hóa", "Đakrông", "Cồn Cỏ", "Lệ Thủy", "Quảng Ninh", "Bố Trạch",
             "Quảng Trạch", "Tuyên Hóa", "Minh Hóa", "Ba Đồn", "Đồng Hới"]

DOSSIER_COLS = [
    "id", "created_at", "updated_at", "code", "lookup_secret", "on_behalf_name", "channel",
    "form_data", "state", "version", "submitted_at", "received_at", "due_at", "due_soon_at",
    "completed_at", "returned_at", "withdrawn_at", "paused_at", "outcome", "step_started_at",
    "step_due_at", "reason", "audit_head", "applicant_id", "assignee_id", "handling_agency_id",
    "reception_agency_id", "procedure_id", "current_step_id", "external_documents",
]
TRANSITION_COLS = ["dossier_id", "name", "from_state", "to_state", "actor_id", "actor_label", "at",
                   "reason", "step", "clock_effect", "details", "prev_hash", "hash"]
INTERVAL_COLS = ["dossier_id", "kind", "policy", "started_at", "ended_at", "reason",
                 "working_minutes"]


# --- services -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_gunicorn(workers: int, env: dict, started=None):
    """gunicorn on a free loopback port, once it answers: (process, base URL). `started` is told
    of the process at once, so a caller's cleanup stops it even when it never answers."""
    import requests

    port = free_port()
    proc = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "portal.wsgi", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    if started:
        started(proc)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/dang-nhap/", timeout=60)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 120 s")


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Services:
    """PostgreSQL, Redis and gunicorn started by this run; stop() ends each one it started."""

    def __init__(self) -> None:
        self.pg = None  # (bin dir, data dir)
        self.redis_dir = None
        self.gunicorn = None
        self.tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))

    def start_postgres(self) -> str:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        pgbin = bins[-1] if bins else str(Path(shutil.which("pg_ctl") or "pg_ctl").parent)
        if not Path(pgbin, "initdb").exists():
            raise SystemExit("PostgreSQL is missing: apt-get install -y postgresql")
        pgdir = Path(tempfile.mkdtemp(prefix="motcua-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(pgdir, "postgres")
        port = free_port()
        subprocess.run(_as_pg([f"{pgbin}/initdb", "-D", f"{pgdir}/data", "-A", "trust",
                               "-U", "postgres"]), check=True, stdout=subprocess.DEVNULL)
        subprocess.run(_as_pg([f"{pgbin}/pg_ctl", "-D", f"{pgdir}/data", "-o",
                               f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1",
                               "-l", f"{pgdir}/log", "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.pg = (pgbin, pgdir)
        subprocess.run([f"{pgbin}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "-q", "-c", "CREATE DATABASE motcua"], check=True)
        return f"postgres://postgres@127.0.0.1:{port}/motcua"

    def start_redis(self) -> str:
        if not shutil.which("redis-server"):
            raise SystemExit("Redis is missing: apt-get install -y redis-server")
        self.redis_dir = Path(tempfile.mkdtemp(prefix="motcua-bench-redis-"))
        port = free_port()
        subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--dir", str(self.redis_dir),
                        "--pidfile", f"{self.redis_dir}/redis.pid",
                        "--logfile", f"{self.redis_dir}/redis.log"], check=True)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        return f"redis://127.0.0.1:{port}/0"

    def start_gunicorn(self, workers: int, env: dict) -> str:
        _, base = launch_gunicorn(workers, env, started=lambda proc: setattr(self, "gunicorn", proc))
        return base

    def stop(self) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
        if self.redis_dir:
            pidfile = self.redis_dir / "redis.pid"
            if pidfile.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            shutil.rmtree(self.redis_dir, ignore_errors=True)
            self.redis_dir = None
        if self.pg:
            pgbin, pgdir = self.pg
            subprocess.run(_as_pg([f"{pgbin}/pg_ctl", "-D", f"{pgdir}/data", "-m", "fast",
                                   "stop"]), stdout=subprocess.DEVNULL, check=False)
            shutil.rmtree(pgdir, ignore_errors=True)
            self.pg = None
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- seeding --------------------------------------------------------------------------

class Progress:
    """A progress bar on stderr, and how long each phase of the seeding took."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.start, self.done = total, label, time.monotonic(), 0
        self.phases: dict[str, float] = {}
        self._phase_started = self.start

    def add(self, count: int) -> None:
        self.done += count
        rate = self.done / max(time.monotonic() - self.start, 1e-6)
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{self.done:,}/{self.total:,} {rate:,.0f}/s ")
        sys.stderr.flush()
        if self.done >= self.total:
            sys.stderr.write("\n")

    def phase(self, name: str) -> None:
        """The phase `name` ends now (it began where the previous one ended)."""
        now = time.monotonic()
        self.phases[name] = round(now - self._phase_started, 1)
        self._phase_started = now
        sys.stderr.write(f"{name}: {self.phases[name]:.1f} s\n")


def _weighted(rnd: random.Random, weights: dict):
    keys = list(weights)
    cum, total = [], 0
    for k in keys:
        total += weights[k]
        cum.append(total)
    import bisect
    return lambda: keys[bisect.bisect_right(cum, rnd.random() * total)]


# COPY's text format: a backslash, a tab or a line break inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Writer:
    """Rows into tables: COPY on PostgreSQL, executemany on SQLite.

    Rows are tuples of text already in the database's format: `null`, `text()` and `time()`
    give it. On PostgreSQL each batch is COPYed by a thread of its own on its own connection,
    so the next batch is made while the server stores the last one."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.pg = connection.vendor == "postgresql"
        self.null = "\\N" if self.pg else None
        self.error: BaseException | None = None
        self.waited = 0.0  # seconds the rows' maker waited for the COPY thread
        self.copying = 0.0  # seconds the COPY thread spent storing batches
        self.backend_pid: int | None = None
        self.backend_cpu: float | None = None  # CPU seconds of the server process copying
        self._queue = None
        self._thread = None

    def text(self, value: str) -> str:
        return value.translate(_COPY_ESCAPES) if self.pg else value

    def time(self, moment: datetime) -> str:
        """An aware instant in UTC as the column stores it."""
        if self.pg:
            return moment.isoformat()
        return moment.replace(tzinfo=None).isoformat(sep=" ")

    def write(self, tables: list[tuple[str, list[str], list[tuple]]]) -> None:
        """One transaction: the rows of each (table, columns, rows)."""
        if self.pg:
            batch = [(table, cols, "\n".join(map("\t".join, rows)) + "\n")
                     for table, cols, rows in tables if rows]
            if self._thread is None:  # started on the first batch, in the process writing
                self._queue = queue.Queue(maxsize=2)
                self._thread = threading.Thread(target=self._copy_batches, daemon=True)
                self._thread.start()
            started = time.monotonic()
            while True:  # a writer that has failed takes nothing more: do not wait for it
                if self.error:
                    raise RuntimeError("COPY failed") from self.error
                try:
                    self._queue.put(batch, timeout=1)
                    break
                except queue.Full:
                    continue
            self.waited += time.monotonic() - started
            return
        from django.db import transaction
        with transaction.atomic(), self.connection.cursor() as cursor:
            for table, cols, rows in tables:
                if rows:
                    quoted = ", ".join(f'"{c}"' for c in cols)
                    marks = ", ".join("%s" for _ in cols)
                    cursor.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',
                                       rows)

    def close(self) -> None:
        """Wait until every batch is stored."""
        if self._thread:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self.error:
            raise RuntimeError("COPY failed") from self.error

    def _copy_batches(self) -> None:
        from django.db import connections, transaction
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            while (batch := self._queue.get()) is not None:
                if self.error:
                    continue
                started = time.monotonic()
                try:
                    with transaction.atomic(), connections["default"].cursor() as cursor:
                        for table, cols, data in batch:
                            quoted = ", ".join(f'"{c}"' for c in cols)
                            with cursor.cursor.copy(
                                f'COPY "{table}" ({quoted}) FROM STDIN'
                            ) as copy:
                                copy.write(data.encode())
                except BaseException as error:  # handed to the thread making the rows
                    self.error = error
                self.copying += time.monotonic() - started
        finally:
            self.backend_cpu = _process_cpu(self.backend_pid)
            connections.close_all()


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds a local process has used so far (the server's side of a COPY), if known."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


BULK_TABLES = ["dossiers_dossier", "dossiers_dossiertransition", "dossiers_clockinterval"]


def _indexes_drop(cursor) -> tuple[list[str], list[str]]:
    """Drop the secondary indexes and the unique and foreign-key constraints of the bulk tables
    (PostgreSQL): one index build after the COPY is far cheaper than a million random inserts
    into each b-tree. Returns the statements that put them back: the indexes (which can be
    built side by side), then the constraints."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
        "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')",
        [BULK_TABLES])
    constraints = cursor.fetchall()
    restore = [f'ALTER TABLE "{t}" ADD CONSTRAINT "{name}" {definition}'
               for t, name, definition, kind in sorted(constraints, key=lambda c: c[3] == "f")]
    for table, name, _, _ in constraints:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname "
        "NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p')", [BULK_TABLES])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes], restore


def _indexes_build(indexes: list[str], constraints: list[str], *, parallel: int = 2) -> None:
    """The dropped indexes, `parallel` at a time (each on its own connection; building an
    index only share-locks its table), then the constraints one by one."""
    from django.db import connection, connections

    pending = sorted(indexes, key=lambda s: "dossiertransition" not in s)  # the biggest first
    lock = threading.Lock()
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
                while True:
                    with lock:
                        if not pending or errors:
                            return
                        statement = pending.pop(0)
                    cursor.execute(statement)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=build) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for statement in constraints:
            cursor.execute(statement)


def _digest_template(actor_json: str) -> str:
    # transition_digest's canonical JSON (sorted keys, no spaces) of a seeded row: only the
    # dossier, the names, the instant and the previous hash vary; the rest is filled in once.
    return ('{"actor":' + actor_json + ',"at":"%s","clock":"","details":{},"dossier":%d,'
            '"from":"%s","name":"%s","prev":"%s","reason":"","step":"","to":"%s"}')


def _seed_parts(make, first_id: int, n: int, rnd: random.Random, progress: Progress, *,
                workers: int) -> list[tuple[dict, dict]]:
    """`make` over n dossiers in `workers` processes, each with a slice of the ids and a
    random generator of its own, storing its rows on a connection of its own."""
    if workers == 1:
        return [make(first_id, n, rnd, 0, 1, progress.add)]
    import multiprocessing

    from django.db import connection, connections

    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    results = context.Queue()
    sizes = [n // workers + (k < n % workers) for k in range(workers)]
    firsts = [first_id + sum(sizes[:k]) for k in range(workers)]
    seeds = [rnd.getrandbits(64) for _ in range(workers)]

    def report(count: int) -> None:
        with done.get_lock():
            done.value += count

    def child(k: int) -> None:
        try:
            results.put((k, make(firsts[k], sizes[k], random.Random(seeds[k]), k, workers,
                                 report), None))
        except BaseException as error:  # told to the parent, which stops the run
            import traceback
            results.put((k, None, f"{error!r}\n{traceback.format_exc()}"))
        finally:
            connections.close_all()

    connection.close()  # each process opens its own; none shares the parent's socket
    processes = [context.Process(target=child, args=(k,), daemon=True) for k in range(workers)]
    for process in processes:
        process.start()
    parts: dict[int, tuple[dict, dict]] = {}
    shown = 0
    while len(parts) < workers:
        try:
            k, part, error = results.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p in processes) and results.empty():
                raise RuntimeError("a seeding process ended without its rows") from None
        else:
            if error:
                for process in processes:
                    process.terminate()
                raise RuntimeError(f"seeding process {k} failed: {error}")
            parts[k] = part
        if done.value > shown:
            progress.add(done.value - shown)
            shown = done.value
    for process in processes:
        process.join()
    if shown < n:
        progress.add(n - shown)
    return [parts[k] for k in range(workers)]


def seed(n: int, *, rnd: random.Random, now: datetime) -> dict:
    """N dossiers over five years across 20 agencies of very different sizes; returns what the
    measurements need (ids of users, the queue agency)."""
    import hashlib

    from django.db import connection

    from dossiers.models import (
        Agency,
        DailyCounter,
        DailySummary,
        MonthlySummary,
        Procedure,
        ProcessStep,
    )
    from dossiers.services import catalog_load
    from dossiers.services.audit import transition_digest
    from dossiers.services.demo import _form_for, demo_accounts_ensure
    from portal.models import User

    catalog_load()
    users = demo_accounts_ensure()
    sct = Agency.objects.get(code="SCT")
    tthcc = Agency.objects.get(code="TTHCC")
    for i, district in enumerate(DISTRICTS, start=1):
        Agency.objects.get_or_create(code=f"PKT{i:02d}", defaults={
            "name": f"Phòng Kinh tế {district}", "parent": sct})
    # Sizes fall off as 1/rank: the department handles a third, the smallest a few hundredths.
    agencies = [sct, tthcc] + list(Agency.objects.filter(code__startswith="PKT").order_by("code"))
    agency_weights = {a.pk: 1000 / (rank + 1) ** 1.1 for rank, a in enumerate(agencies)}
    by_pk = {a.pk: a for a in agencies}
    procedures = list(Procedure.objects.all())
    proc_weights = {p.pk: 1000 / (rank + 1) for rank, p in enumerate(procedures)}
    by_proc = {p.pk: p for p in procedures}
    steps = defaultdict(list)
    for step in ProcessStep.objects.order_by("procedure_id", "order"):
        steps[step.procedure_id].append(step.pk)
    applicants = [User(username=f"bench-dn-{i:04d}", full_name=f"Doanh nghiệp mẫu {i}",
                       kind=User.Kind.BUSINESS, tax_code=f"32{i:08d}", password="!")
                  for i in range(300)]
    User.objects.bulk_create(applicants, ignore_conflicts=True)
    applicant_ids = [str(pk) for pk in User.objects.filter(username__startswith="bench-dn-")
                     .values_list("pk", flat=True)] + [str(users["doanhnghiep"].pk)]
    officer = users["chuyenvien"]
    reception = users["tiepnhan"]
    leader = users["lanhdao"]
    actors = {"submit": None, "accept": reception, "return_for_completion": reception,
              "refuse_at_reception": reception, "request_supplement": officer,
              "suspend": officer, "propose": officer, "approve": leader, "refuse": leader,
              "issue_result": leader, "return_result": reception, "withdraw": None}
    writer = Writer(connection)
    null = writer.null
    # Per transition name: the digest's template, and the log row's actor columns.
    templates = {
        name: (_digest_template(json.dumps(a.pk) + ',"actor_label":' + json.dumps(
                   a.display_name, ensure_ascii=False).replace("%", "%%")) if a else
               _digest_template('null,"actor_label":""'),
               str(a.pk) if a else null, writer.text(a.display_name) if a else "")
        for name, a in actors.items()
    }
    forms = {p.pk: writer.text(json.dumps(_form_for(p, users["doanhnghiep"]),
                                          ensure_ascii=False)) for p in procedures}
    progress = Progress(n, "dossiers")
    indexes: list[str] = []
    constraints: list[str] = []
    if writer.pg:
        with connection.cursor() as cursor:
            indexes, constraints = _indexes_drop(cursor)
    next_id = 1 + (connection.cursor().execute("SELECT COALESCE(MAX(id), 0) FROM dossiers_dossier")
                   .fetchone()[0])
    bulk_started = time.monotonic()
    local_tz = now.tzinfo
    now = now.astimezone(UTC)  # every instant below is in UTC, as the log's hashes write it
    span_minutes = 5 * 365 * 24 * 60
    sha256 = hashlib.sha256
    in_progress_states = {"processing", "awaiting_supplement", "suspended", "pending_approval",
                          "approved"}
    first_step_states = {"processing", "awaiting_supplement", "suspended"}

    def make(next_id: int, n: int, rnd: random.Random, worker: int, workers: int,
             report) -> tuple[dict, dict]:
        """Dossiers next_id .. next_id + n - 1 with their rows, stored; returns the daily
        summary and the last code number issued per (agency, day). With several workers,
        worker k issues the numbers k + 1, k + 1 + workers, ...: codes stay unique."""
        cpu_started = time.process_time()
        writer = Writer(connection)
        wtime = writer.time
        pick_state = _weighted(rnd, STATE_WEIGHTS)
        pick_channel = _weighted(rnd, CHANNEL_WEIGHTS)
        pick_agency = _weighted(rnd, agency_weights)
        pick_proc = _weighted(rnd, proc_weights)
        seqs: dict = defaultdict(int)
        summary: dict = defaultdict(lambda: defaultdict(int))
        batch = 10_000
        done = 0
        while done < n:
            size = min(batch, n - done)
            d_rows, t_rows, i_rows = [], [], []
            for _ in range(size):
                pk = next_id
                next_id += 1
                state = pick_state()
                channel = pick_channel()
                proc = by_proc[pick_proc()]
                agency = by_pk[pick_agency()]
                reception_agency = tthcc if channel == "counter" and rnd.random() < 0.5 else agency
                days = float(proc.processing_days)
                if state in OPEN_STATES:
                    # Open ones came in lately; with the backlog a province carries, most of those
                    # being worked on are past due (up to three legal times late).
                    submitted = now - timedelta(minutes=rnd.randint(60, int(days * 5 * 1440) + 60))
                else:
                    submitted = now - timedelta(minutes=rnd.randint(int(days * 2 * 1440), span_minutes))
                submitted = submitted.replace(second=0, microsecond=0)
                path = PATHS[state]
                code = null
                if path:
                    day = submitted.astimezone(local_tz).date()
                    seqs[(reception_agency.pk, day)] += 1
                    seq = (seqs[(reception_agency.pk, day)] - 1) * workers + worker + 1
                    code = reception_agency.format_code(day=day, seq=seq)
                received = (submitted + timedelta(hours=rnd.uniform(0.5, 20))).replace(microsecond=0)
                due = received + timedelta(days=days * 7 / 5)
                late_draw = rnd.random()
                completed = None
                outcome = ""
                if state in ("returned", "result_ready", "refused"):
                    if late_draw < 0.6:
                        completed, outcome = received + (due - received) * rnd.uniform(0.3, 0.85), "early"
                    elif late_draw < 0.88:
                        completed, outcome = due - timedelta(hours=rnd.uniform(0, 20)), "on_time"
                    else:
                        completed, outcome = due + timedelta(days=rnd.uniform(0.5, 12)), "late"
                    completed = completed.replace(microsecond=0)
                # The log: one timestamp per transition, in order.
                moments = [submitted]
                if len(path) > 1:
                    moments.append(received)
                end = completed or (received + (min(due, now) - received) * rnd.uniform(0.2, 0.9))
                while len(moments) < len(path):
                    moments.append(moments[-1] + (end - moments[-1]) * rnd.uniform(0.3, 0.7))
                moments = [m.replace(microsecond=0) for m in moments[:len(path)]]
                head = ""
                spk = str(pk)
                for (name, frm, to), at in zip(path, moments, strict=True):
                    template, actor_id, actor_label = templates[name]
                    at_iso = at.isoformat()
                    digest = sha256((template % (at_iso, pk, frm, name, head, to)).encode()).hexdigest()
                    t_rows.append((spk, name, frm, to, actor_id, actor_label,
                                   at_iso if writer.pg else wtime(at), "", "", "", "{}", head, digest))
                    head = digest
                last = moments[-1] if moments else submitted
                paused = None
                if state in ("awaiting_supplement", "suspended"):
                    paused = last
                    kind = "supplement" if state == "awaiting_supplement" else "suspension"
                    i_rows.append((spk, kind, proc.supplement_clock, wtime(last), null, "", null))
                elif state == "returned" and rnd.random() < 0.1:
                    start = received + (completed - received) * 0.3
                    stop = start + (completed - received) * 0.1
                    i_rows.append((spk, "supplement", proc.supplement_clock, wtime(start),
                                   wtime(stop), "", str(int((stop - start).total_seconds() // 60))))
                in_progress = state in in_progress_states
                step_ids = steps.get(proc.pk) or [None]
                current_step = (step_ids[0] if state in first_step_states else step_ids[-1]
                                ) if in_progress else None
                received_at = received if len(path) > 1 and state not in (
                    "needs_completion", "rejected") else None
                last_text = wtime(last)
                d_rows.append((
                    spk, wtime(submitted), last_text, code, f"{rnd.getrandbits(64):016x}", "",
                    channel, forms[proc.pk], state, "1", wtime(submitted) if path else null,
                    wtime(received_at) if received_at else null,
                    wtime(due) if received_at else null,
                    wtime(due - timedelta(days=2)) if received_at else null,
                    wtime(completed) if completed else null,
                    last_text if state == "returned" else null,
                    last_text if state == "withdrawn" else null,
                    last_text if paused else null, outcome,
                    last_text if in_progress else null,
                    wtime(last + timedelta(days=3)) if in_progress else null,
                    "", head, rnd.choice(applicant_ids),
                    str(officer.pk) if in_progress and agency.pk == sct.pk else null,
                    str(agency.pk), str(reception_agency.pk), str(proc.pk),
                    str(current_step) if current_step else null, "[]",
                ))
                # The daily summary, as the services keep it: by the handling agency's local day.
                fee = proc.fee_vnd > 0
                if received_at:
                    key = (agency.pk, proc.pk, channel, received_at.astimezone(local_tz).date())
                    counts = summary[key]
                    counts["received"] += 1
                    counts["fee_bearing"] += fee
                    counts["paid_online"] += fee and channel == "online"
                    counts["digitized"] += rnd.random() < 0.8
                if completed:
                    counts = summary[(agency.pk, proc.pk, channel,
                                      completed.astimezone(local_tz).date())]
                    if state == "refused":
                        counts["refused"] += 1
                    else:
                        counts["completed"] += 1
                        counts[outcome] += 1
                        counts["results_electronic"] += rnd.random() < 0.5
                        if rnd.random() < 0.15:
                            rating = rnd.choice((3, 4, 4, 5, 5, 5))
                            counts["rated"] += 1
                            counts["rating_sum"] += rating
                            counts["satisfied"] += rating >= 4
                elif state in ("rejected", "withdrawn"):
                    key = (agency.pk, proc.pk, channel, last.astimezone(local_tz).date())
                    summary[key][state] += 1
            writer.write([("dossiers_dossier", DOSSIER_COLS, d_rows),
                          ("dossiers_dossiertransition", TRANSITION_COLS, t_rows),
                          ("dossiers_clockinterval", INTERVAL_COLS, i_rows)])
            done += size
            report(size)
        writer.close()
        if writer.pg:
            sys.stderr.write(f"\nprocess {worker + 1}: {time.process_time() - cpu_started:.1f} s "
                             f"of CPU; waited {writer.waited:.1f} s for COPY, which was busy "
                             f"{writer.copying:.1f} s (server CPU {writer.backend_cpu} s)\n")
        last = {key: (count - 1) * workers + worker + 1 for key, count in seqs.items()}
        return {key: dict(counts) for key, counts in summary.items()}, last

    parts = _seed_parts(make, next_id, n, rnd, progress,
                        workers=2 if writer.pg and n >= 20_000 else 1)
    summary: dict = defaultdict(lambda: defaultdict(int))
    seqs: dict = defaultdict(int)
    for part_summary, part_seqs in parts:
        for key, counts in part_summary.items():
            for name, value in counts.items():
                summary[key][name] += value
        for key, value in part_seqs.items():
            seqs[key] = max(seqs[key], value)
    # The monthly rollup, as the services keep it beside the days: their sums per month.
    monthly: dict = defaultdict(lambda: defaultdict(int))
    for (a, p, c, d), counts in summary.items():
        month = monthly[(a, p, c, d.replace(day=1))]
        for name, value in counts.items():
            month[name] += value
    writer = Writer(connection)
    cols = ["agency_id", "procedure_id", "channel", "day", *DailySummary.COUNTERS]
    writer.write([
        (DailySummary._meta.db_table, cols, [
            (str(a), str(p), c, d.isoformat(), *(str(counts.get(k, 0))
                                                for k in DailySummary.COUNTERS))
            for (a, p, c, d), counts in summary.items()]),
        (MonthlySummary._meta.db_table, ["month" if c == "day" else c for c in cols], [
            (str(a), str(p), c, m.isoformat(), *(str(counts.get(k, 0))
                                                for k in DailySummary.COUNTERS))
            for (a, p, c, m), counts in monthly.items()]),
        (DailyCounter._meta.db_table, ["agency_id", "day", "value"],
         [(str(a), d.isoformat(), str(v)) for (a, d), v in seqs.items()]),
    ])
    writer.close()
    progress.phase("rows made and copied")
    if writer.pg:
        sys.stderr.write(f"building {len(indexes) + len(constraints)} indexes and "
                         "constraints ...\n")
        _indexes_build(indexes, constraints)
        progress.phase("indexes and constraints built")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("dossiers_dossier", "dossiers_dossiertransition",
                          "dossiers_clockinterval", "dossiers_dailysummary",
                          "dossiers_dailycounter"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    progress.phase("vacuum and analyze")
    # The bulk rows hash as the services' own log rows do.
    from dossiers.models import DossierTransition
    sample = DossierTransition.objects.order_by("-id").first()
    if sample is not None and transition_digest(sample) != sample.hash:
        raise RuntimeError("the seeded log's hashes differ from transition_digest")
    return {"sct": sct, "users": users, "procedures": procedures,
            "forms": {p.pk: _form_for(p, users["doanhnghiep"]) for p in procedures},
            "summary_rows": len(summary), "monthly_rows": len(monthly),
            "bulk_seconds": time.monotonic() - bulk_started,
            "phases": progress.phases}


# --- load -----------------------------------------------------------------------------

def sign_in(base: str, username: str):
    """A signed-in HTTP session for `username`; the one place that knows how clients sign in
    (today: the sign-in form and its session cookie)."""
    import requests
    session = requests.Session()
    session.get(base + "/dang-nhap/", timeout=30)
    response = session.post(base + "/dang-nhap/", timeout=30, allow_redirects=False, data={
        "username": username, "password": PASSWORD,
        "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
    }, headers={"Referer": base + "/dang-nhap/"})
    if "sessionid" not in session.cookies:
        raise RuntimeError(f"signing in as {username} failed: HTTP {response.status_code}")
    session.headers.update({"X-CSRFToken": session.cookies.get("csrftoken", ""),
                            "Referer": base + "/"})
    return session


def _clone(session):
    import requests
    other = requests.Session()
    other.cookies.update(session.cookies)
    other.headers.update(session.headers)
    return other


def run_load(session, request, *, clients: int, seconds: float, per_client: int,
             expect: int, rate: float | None = None) -> dict:
    """`clients` threads each calling request(session) until `seconds` pass or `per_client`
    calls are made; with `rate`, the calls are paced to that many per second overall."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    interval = clients / rate if rate else 0.0

    def client(index: int) -> None:
        own = _clone(session)
        mine = []
        next_at = time.monotonic() + (interval * index / clients)
        for _ in range(per_client):
            if time.monotonic() >= stop_at:
                break
            if interval:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(min(pause, max(stop_at - time.monotonic(), 0)))
                next_at += interval
            started = time.perf_counter()
            response = request(own)
            mine.append(time.perf_counter() - started)
            if response.status_code != expect:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    return {"count": len(latencies), "rate": len(latencies) / elapsed,
            "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95), "errors": errors[0]}


def _pct(samples: list[float], pct: int) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000


def _sql_p95(sql: str, params: list, count: int = 200, seconds: float = 20) -> tuple[float, float]:
    """p95 and p50 in ms of a raw query run `count` times (at most `seconds`)."""
    from django.db import connection
    samples = []
    stop_at = time.monotonic() + seconds
    with connection.cursor() as cursor:
        for _ in range(count):
            if time.monotonic() >= stop_at:
                break
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            samples.append(time.perf_counter() - started)
    return _pct(samples, 95), _pct(samples, 50)


def _row(name, value, unit, baseline, goal, met, **extra) -> dict:
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "goal": goal,
            "met": bool(met), **extra}


# How long `make demo` in a fresh clone may take to its first page before the measure gives up.
FIRST_PAGE_WAIT = 300  # seconds
# What a newcomer's shell would not hold: this run's own settings and its make's.
NOT_INHERITED = ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
                 "PORT", "SIM_PORT", "DEMO_DOSSIERS", "DEMO_FIRST")


class _DemoCommand:
    """`make demo` run in `clone` in its own session, its output in `log`; on exit its whole
    process group (make, the server, the simulator, the seeding) is ended."""

    def __init__(self, clone: Path, env: dict, log: Path) -> None:
        self.clone, self.env, self.log = clone, env, log
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> subprocess.Popen:
        _SCALED.append(self)
        with open(self.log, "wb") as out:
            self.procs.append(subprocess.Popen(["make", "demo"], cwd=self.clone, env=self.env,
                                               stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))
        return self.procs[0]

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(ValueError):
            _SCALED.remove(self)
        stop_sessions(self.procs)


def _answers(url: str) -> bool:
    import requests
    try:
        return requests.get(url, timeout=5, allow_redirects=False).status_code == 200
    except requests.RequestException:
        return False


def measure_demo_first_page(results, *, wait: float = FIRST_PAGE_WAIT) -> None:
    """README's first command as a newcomer meets it: `make demo` in a fresh clone of the
    committed tree, timed from the command to the first 200 on `/`. The clone makes its own
    virtual environment and installs into it (from this machine's package index and caches),
    compiles the catalogs, migrates, starts the portals' simulator, seeds the first batch of
    demo dossiers and serves. Work not committed is not in the clone."""
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-first-page-"))
    clone, log = tmp / "motcua", tmp / "make-demo.log"
    port = free_port()
    simulator = next(other for other in iter(free_port, None) if other != port)
    env = {key: value for key, value in STARTING_ENV.items() if key not in NOT_INHERITED}
    env.update(PORT=str(port), SIM_PORT=str(simulator))
    took, error, commit = None, "", ""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                                capture_output=True, text=True, timeout=60).stdout.strip()
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True,
                       capture_output=True, text=True, timeout=300)
        started = time.perf_counter()
        with _DemoCommand(clone, env, log) as command:
            while time.perf_counter() - started < wait:
                if _answers(f"http://127.0.0.1:{port}/"):
                    took = time.perf_counter() - started
                    break
                if command.poll() is not None:
                    error = f"make demo exited with code {command.returncode}"
                    break
                time.sleep(0.2)
            else:
                error = f"no page within {wait:.0f} s"
            # A command that never served counts the time it was given.
            seconds = took if took is not None else time.perf_counter() - started
        if error:
            error += ": " + log.read_text(errors="replace")[-500:]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as failed:
        said = failed.stderr or b""
        said = said.decode(errors="replace") if isinstance(said, bytes) else said
        error, seconds = f"{' '.join(failed.cmd[:2])} failed: {said[-500:]}", 0.0
    except OSError as failed:  # no git or make here: the other figures are kept
        error, seconds = f"could not run {failed.filename or 'a command'}: {failed}", 0.0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results.append(_row("demo_first_page_seconds", round(seconds, 1), "s", None, "< 60",
                        took is not None and took < 60, commit=commit,
                        note="make demo in a fresh git clone (virtual environment, install from "
                             "this machine's package index and caches, migrate, simulator, "
                             "first demo dossiers, server) to the first 200 on /",
                        **({"error": error} if error else {})))


def _submission_procedure(procedures):
    """A procedure whose drafts can be submitted as they are: no fee due at submission and no
    mandatory paper that must be signed (the signing of papers is measured elsewhere)."""
    for proc in procedures:
        components = list(proc.components.all())
        if (proc.is_active and not proc.fee_due_at_submission
                and not any(c.mandatory and c.must_be_signed for c in components)):
            return proc, [c for c in components if c.mandatory]
    raise RuntimeError("no procedure of the catalog can be submitted without a fee or signature")


def _complete_drafts(ctx, count: int) -> list[int]:
    """`count` complete drafts of one applicant (form filled, every mandatory paper uploaded),
    bulk-created outside the timing: one paper per component goes through the upload service
    (stored file, content and signature checks); the others are copies of its row."""
    from django.db import transaction

    from dossiers.models import Document, Dossier
    from dossiers.services import document_upload, dossier_create
    from dossiers.services.demo import _demo_file

    applicant = ctx["users"]["doanhnghiep"]
    proc, components = _submission_procedure(ctx["procedures"])
    form = ctx["forms"][proc.pk]
    model = dossier_create(actor=applicant, procedure_id=proc.pk, form_data=form)
    uploaded = [document_upload(dossier_id=model.pk, actor=applicant, component_code=c.code,
                                uploaded_file=_demo_file(c)) for c in components]
    copied = [f.name for f in Document._meta.concrete_fields
              if f.name not in ("id", "dossier", "created_at", "updated_at")]
    ids = [model.pk]
    with transaction.atomic():
        for start in range(0, count - 1, 500):
            drafts = Dossier.objects.bulk_create([Dossier(
                procedure=proc, applicant=applicant, form_data=form, channel=model.channel,
                reception_agency_id=model.reception_agency_id,
                handling_agency_id=model.handling_agency_id,
            ) for _ in range(min(500, count - 1 - start))])
            Document.objects.bulk_create([
                Document(dossier=d, **{name: getattr(doc, name) for name in copied})
                for d in drafts for doc in uploaded])
            ids += [d.pk for d in drafts]
    return ids


def _submit_queries(ctx, dossier_id: int) -> tuple[dict, int]:
    """Queries of one submit in process (session and user lookups included), and those of
    the work it queues after its commit (eager here, a Celery worker's with a broker)."""
    from unittest import mock

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal import effects

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(ctx["users"]["doanhnghiep"])
    queued = []
    with mock.patch.object(effects, "task_queue", lambda name, *args: queued.append(
            (name, args)) or True), CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/dossiers/{dossier_id}/submit/", {},
                               content_type="application/json")
    if response.status_code != 200:
        raise RuntimeError(f"submit answered {response.status_code}: {response.content[:300]}")
    with CaptureQueriesContext(connection) as after:
        for name, args in queued:
            effects.task_queue(name, *args)
    control = sum(q["sql"].strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK",
                                                        "SAVEPOINT", "RELEASE"))
                  for q in queries.captured_queries)
    return {"data": len(queries) - control, "control": control}, len(after)


# The scale deployments and demo commands running now, ended by an interrupted run as well.
_SCALED: list = []


class _Scaled:
    """A gunicorn whose after-commit work goes to Celery on the run's Redis, and one Celery
    worker consuming it: the scale deployment (Redis, gunicorn and Celery nodes). Both are
    started in their own sessions and ended (by their own ids) on exit."""

    def __init__(self, redis_url: str, workers: int = 2) -> None:
        self.broker = redis_url.rsplit("/", 1)[0] + "/2"
        self.env = {**os.environ, "CELERY_BROKER_URL": self.broker,
                    "CELERY_TASK_ALWAYS_EAGER": "0"}
        self.workers = workers
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> str:
        _SCALED.append(self)
        port = free_port()
        log = open(Path(tempfile.gettempdir()) / f"motcua-bench-celery-{port}.log", "wb")  # noqa: SIM115
        self.procs.append(subprocess.Popen(
            [str(Path(PYTHON).parent / "celery"), "-A", "portal", "worker", "-l", "warning",
             "-c", "1", "-P", "solo", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=ROOT, env=self.env, start_new_session=True,
            stdout=log, stderr=subprocess.STDOUT))
        _, base = launch_gunicorn(self.workers, self.env,
                                         started=lambda proc: self.procs.append(proc))
        return base

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(ValueError):
            _SCALED.remove(self)
        stop_sessions(self.procs)


def stop_sessions(procs: list[subprocess.Popen], *, wait: float = 30) -> None:
    """End processes started in their own sessions, each with every process of its group:
    SIGTERM, then SIGKILL for a group whose leader has not exited after `wait` seconds."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _delivered(dossier_ids: list[int], seconds: float = 120) -> tuple[int, int]:
    """(mails sent, portal messages attempted) for these dossiers once the queue has drained
    (bounded); without a configured portal the relay records each attempt's failure."""
    from dossiers.models import Notification, OutboundMessage
    pending = Notification.objects.filter(dossier_id__in=dossier_ids, status="pending")
    unsent = OutboundMessage.objects.filter(dossier_id__in=dossier_ids,
                                            status__in=["pending", "sending"])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (pending.exists() or unsent.exists()):
        time.sleep(1)
    return (Notification.objects.filter(dossier_id__in=dossier_ids, status="sent").count(),
            OutboundMessage.objects.filter(dossier_id__in=dossier_ids, attempts__gt=0).count())


def measure_submission(base, ctx, results, seconds, workers: int) -> None:
    """The applicant's submit of a complete draft, beside the bare create, both on the same
    gunicorn. With Redis (the scale mode) the portal runs as deployed at scale: its mail and
    portal relay go to a Celery worker; the eager figure (no broker: that work inside the
    request, as the embedded default does it) is kept beside it."""
    redis = os.environ.get("CACHE_URL", "")
    per_run = 2400  # complete drafts per timed run: more than 8 clients submit in `seconds`
    runs = 3 if redis.startswith("redis://") else 2
    pool = _complete_drafts(ctx, runs * per_run + 1)
    drafts = iter(pool)
    lock = threading.Lock()
    used: list[int] = []
    proc = ctx["procedures"][0]
    body = {"procedure_id": proc.pk, "form_data": ctx["forms"][proc.pk]}
    bound = dict(clients=8, seconds=seconds, expect=200, per_client=per_run // 8)

    def measure(url):
        applicant = sign_in(url, "doanhnghiep")

        def submit(s):
            with lock:
                dossier_id = next(drafts)
                used.append(dossier_id)
            return s.post(url + f"/api/v1/dossiers/{dossier_id}/submit/", json={}, timeout=60)

        def bare(s):
            return s.post(url + "/bench/bare-create/", json=body, timeout=60)

        base_run = run_load(applicant, bare, **{**bound, "per_client": 5000, "expect": 201})
        full = run_load(applicant, submit, **bound)
        half = run_load(applicant, submit, rate=max(base_run["rate"] / 2, 1), **bound)
        return base_run, full, half

    if runs == 3:
        applicant = sign_in(base, "doanhnghiep")

        def submit_eager(s):
            with lock:
                dossier_id = next(drafts)
            return s.post(base + f"/api/v1/dossiers/{dossier_id}/submit/", json={}, timeout=60)

        eager = run_load(applicant, submit_eager, **bound)
        with _Scaled(redis, workers) as scaled:
            base_run, full, half = measure(scaled)
            mails, relayed = _delivered(used)
        how = (f"gunicorn {workers} workers, mail and portal relay on 1 Celery worker (Redis "
               "broker); "
               f"eager in the request: {eager['rate']:.1f} req/s, p95 {eager['p95_ms']:.0f} ms")
    else:
        base_run, full, half = measure(base)
        mails, relayed = _delivered(used, seconds=5)
        how = f"gunicorn {workers} workers, mail and portal relay eager in the request (no broker)"
    queries, after_commit = _submit_queries(ctx, next(drafts))
    what = ("POST /api/v1/dossiers/{id}/submit/ of a complete draft (form filled, papers "
            "uploaded); " + how)
    results += [
        _row("submission_http_8_clients", round(full["rate"], 1), "req/s",
             round(base_run["rate"], 1), ">= 0.5 x bare DRF create (3 inserts)",
             full["rate"] >= 0.5 * base_run["rate"], p95_ms=round(full["p95_ms"], 1),
             errors=full["errors"] + base_run["errors"] + half["errors"],
             submitted=len(used), mails_sent=mails, messages_attempted=relayed, note=what),
        _row("submission_http_p95_at_half_bare_rate", round(half["p95_ms"], 1), "ms",
             round(base_run["p95_ms"], 1), "< 150", half["p95_ms"] < 150,
             rate=round(half["rate"], 1), errors=half["errors"]),
        _row("submission_queries", queries["data"], "queries", 3, "<= 10",
             queries["data"] <= 10, transaction_statements=queries["control"],
             after_commit_queries=after_commit,
             note="one submit in process, session and user lookups included, BEGIN/COMMIT "
                  "counted apart; after_commit: the mail and portal relay it queues"),
    ]


def _second_factor_passed(session, base: str, username: str):
    """The session past the staff second factor (the demo account's fixed TOTP key), if the
    sign-in left it at the code step; a session already past it is returned as it is. A code
    is good once (a replay within its 30 s window is refused): refused, the next one is sent."""
    from django_otp.oath import TOTP

    from dossiers.services.demo import demo_totp_key

    url = base + "/dang-nhap/ma-xac-thuc/"
    for attempt in range(2):
        if session.get(url, timeout=30, allow_redirects=False).status_code != 200:
            break
        if attempt:
            time.sleep(31 - time.time() % 30)  # into the next code's window
        session.post(url, timeout=30, allow_redirects=False, data={
            "code": f"{TOTP(bytes.fromhex(demo_totp_key(username))).token():06d}",
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
        }, headers={"Referer": url})
    session.headers.update({"X-CSRFToken": session.cookies.get("csrftoken", "")})
    return session


_STAFF: dict[tuple[str, str], object] = {}


def staff_session(base: str, username: str):
    """A staff member's session past the second factor, signed in once per run and server."""
    key = (base, username)
    if key not in _STAFF:
        _STAFF[key] = _second_factor_passed(sign_in(base, username), base, username)
    return _STAFF[key]


def measure_queue(base, ctx, results, seconds) -> None:
    officer = staff_session(base, "chuyenvien")
    url = base + "/api/v1/queue/"
    cursor = None
    pages = 0
    for _ in range(40):  # the deep page: 40 pages in, or the last one there is
        body = officer.get(url, params={"cursor": cursor} if cursor else {}, timeout=60).json()
        if not body.get("next_cursor"):
            break
        cursor = body["next_cursor"]
        pages += 1
    sct = ctx["sct"]
    states = ("submitted", "processing", "awaiting_supplement", "suspended", "pending_approval",
              "approved", "needs_completion")
    marks = ", ".join("%s" for _ in states)
    # The bare query of the same size: the agency's dossiers by due time, 25 of them. (With the
    # open states as a filter too, PostgreSQL walks the due_at index through every closed
    # dossier first; that variant is kept beside it as `open_states_p50_ms`.)
    baseline, baseline_p50 = _sql_p95(
        "SELECT id FROM dossiers_dossier WHERE handling_agency_id = %s ORDER BY due_at LIMIT 25",
        [sct.pk])
    _, open_states_p50 = _sql_p95(
        f"SELECT id FROM dossiers_dossier WHERE handling_agency_id = %s AND state IN ({marks}) "
        "ORDER BY due_at LIMIT 25", [sct.pk, *states], count=50)
    for label, params in (("first", {}), (f"deep_{pages}_pages", {"cursor": cursor} if cursor
                                          else {}), ("overdue", {"due": "overdue"})):
        run = run_load(officer, lambda s, p=params: s.get(url, params=p, timeout=60), clients=1,
                       seconds=seconds / 3, per_client=300, expect=200)
        results.append(_row(f"queue_page_{label}_p95", round(run["p95_ms"], 1), "ms",
                            round(baseline, 2), "< 15", run["p95_ms"] < 15,
                            p50_ms=round(run["p50_ms"], 1), baseline_p50_ms=round(baseline_p50, 2),
                            open_states_p50_ms=round(open_states_p50, 2),
                            errors=run["errors"], requests=run["count"]))


def measure_indicators(base, ctx, results, seconds, now) -> None:
    manager = staff_session(base, "quanly")
    year_ago = (now - timedelta(days=365)).date()
    baseline, baseline_p50 = _sql_p95(
        "SELECT handling_agency_id, COUNT(*), "
        "SUM(CASE WHEN outcome = 'late' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM dossiers_dossier WHERE received_at >= %s GROUP BY handling_agency_id",
        [datetime.combine(year_ago, datetime.min.time(), tzinfo=UTC)], count=30, seconds=30)
    for group in ("agency", "procedure", "month"):
        params = {"date_from": year_ago.isoformat(), "date_to": now.date().isoformat(),
                  "group_by": group}
        run = run_load(manager, lambda s, p=params: s.get(base + "/api/v1/indicators/", params=p,
                                                          timeout=60),
                       clients=1, seconds=seconds / 3, per_client=200, expect=200)
        results.append(_row(
            f"indicators_year_by_{group}_p95", round(run["p95_ms"], 1), "ms", round(baseline, 1),
            "< 50 and >= 5x faster than the raw GROUP BY",
            run["p95_ms"] < 50 and run["p95_ms"] * 5 <= baseline,
            p50_ms=round(run["p50_ms"], 1), baseline_p50_ms=round(baseline_p50, 2),
            errors=run["errors"], requests=run["count"]))


def measure_overdue(base, results, workers: int = 2) -> None:
    """The manager's overdue.csv: rows per second over the whole download (the seed leaves
    about 20,000 overdue dossiers in the department's list at 1,000,000), and the first byte.
    Each gunicorn worker is warmed first (its calendars laid out, its modules loaded: the
    downloads land on any worker), then the median of five downloads is the figure."""
    manager = staff_session(base, "quanly")
    for _ in range(2 * workers):
        manager.get(base + "/api/v1/overdue.csv", timeout=600)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        with manager.get(base + "/api/v1/overdue.csv", timeout=600, stream=True) as response:
            chunks = response.iter_content(chunk_size=1 << 16)
            first = next(chunks, b"")
            first_byte = time.perf_counter() - started
            body = first + b"".join(chunks)
        timings.append((time.perf_counter() - started, first_byte, response.status_code))
    took, first_byte, status = sorted(timings)[len(timings) // 2]
    rows = max(body.count(b"\n") - 1, 0)
    rate = rows / took if took else 0.0
    results.append(_row("overdue_export_rows_per_second", round(rate), "rows/s", None,
                        ">= 15,000 (15,000 rows in < 1 s)",
                        all(t[2] == 200 for t in timings) and rate >= 15_000,
                        rows=rows, seconds=round(took, 2), first_byte_ms=round(first_byte * 1000, 1),
                        slowest_seconds=round(max(t[0] for t in timings), 2), status=status))


def sqlite_copy(source: Path, target: Path) -> None:
    """A whole copy of an SQLite database in write-ahead logging, whose -wal file may still hold
    committed pages the main file has not; the target's own -wal and -shm files from an earlier
    run go first, or SQLite would replay that old log onto the copy."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def measure_demo_seeding(results, count: int, repeats: int = 3) -> None:
    """seed_demo through the services on a fresh SQLite database, in its own processes (its
    default: a walker per core, at most two, with the in-process fakes of the portals). The
    same command seeds `count` dossiers, then three times as many, each on a copy of the same
    migrated database: the rate is the dossiers the second run adds over the time it adds, so
    what a process does once whatever the number of dossiers (start-up, catalog, accounts,
    demo CAs, the first load of the PDF and signing libraries and fonts) is charged to
    neither. By default the larger seed is `make demo`'s own (300 dossiers): the rate is the
    one its seed runs at. The pair runs `repeats` times and each size counts its quickest
    run, as timeit does: a run slowed by another load on the machine says nothing of the
    seeding. Python writes its bytecode as on a fresh machine."""
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-demo-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
           "PRIVATE_MEDIA_ROOT": str(tmp / "media"), "CACHE_URL": "locmemcache://",
           "DJANGO_LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    low, high = count, 3 * count

    def seed(dossiers: int) -> tuple[float, subprocess.CompletedProcess]:
        sqlite_copy(tmp / "migrated.sqlite3", tmp / "demo.sqlite3")
        shutil.rmtree(tmp / "media", ignore_errors=True)
        started = time.perf_counter()
        done = subprocess.run([PYTHON, "manage.py", "seed_demo", "--dossiers", str(dossiers)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        return time.perf_counter() - started, done

    times: dict[int, list[float]] = {low: [], high: []}
    failed = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True,
                       timeout=600)
        sqlite_copy(tmp / "demo.sqlite3", tmp / "migrated.sqlite3")
        for _round in range(max(1, repeats)):
            for dossiers in (low, high):
                took, done = seed(dossiers)
                times[dossiers].append(took)
                if done.returncode and failed is None:
                    failed = done
            if failed is not None:
                break
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base, took = min(times[low]), min(times[high])
    rate = (high - low) / max(took - base, 1e-6)
    ok = failed is None
    results.append(_row("demo_seeding_dossiers_per_second", round(rate, 2), "dossiers/s", None,
                        ">= 20", ok and rate >= 20, dossiers=high, seconds=round(took, 1),
                        baseline_dossiers=low, baseline_seconds=round(base, 1),
                        overall_per_second=round(high / took, 2), repeats=len(times[high]),
                        runs_seconds={n: [round(t, 1) for t in ts] for n, ts in times.items()},
                        note=f"{low} then {high} dossiers with seed_demo's default walkers "
                             "(one per core, at most two); the in-process fakes of the portals "
                             "and payment platform; each size counts its quickest run",
                        **({} if ok else {"error": failed.stderr[-500:]})))


def worker_rss_mb(master_pid: int) -> float:
    best = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master_pid:
                continue
            status = Path(stat).with_name("status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                best = max(best, int(line.split()[1]) / 1024)
    return best


def cpu_times() -> list[int]:
    """The machine's CPU time counters (user ... steal) from /proc/stat; empty elsewhere."""
    try:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return []


def stolen_percent(before: list[int], after: list[int]) -> float | None:
    """The share of the CPU time between two readings that the host gave to other machines
    (steal): a run measured while its virtual machine's neighbours were busy is slower."""
    if len(before) < 8 or len(after) < 8:
        return None
    total = sum(after) - sum(before)
    return round(100 * (after[7] - before[7]) / total, 1) if total > 0 else None


def machine() -> dict:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    return {"cores": os.cpu_count(), "memory_mb": mem}


# --- report ---------------------------------------------------------------------------

README_START = "<!-- bench-results:start -->"
README_END = "<!-- bench-results:end -->"
_DETAILS = ("p50_ms", "baseline_p50_ms", "p95_ms", "rows", "seconds", "baseline_seconds",
            "repeats", "rate", "errors", "note", "open_states_p50_ms")


def _table(data: dict, *, details: bool) -> list[str]:
    """One run's figures as a Markdown table; `details` adds each figure's side figures."""
    lines = ["| Figure | Value | Same-run baseline | Goal | Met |", "|---|---|---|---|---|"]
    for row in data["results"]:
        baseline = "—" if row["baseline"] is None else f"{row['baseline']:,}"
        value = f"{row['value']:,} {row['unit']}"
        if details:
            extra = ", ".join(f"{k} {v}" for k, v in row.items()
                              if k in _DETAILS and v not in (0, None))
            value += f" ({extra})" if extra else ""
        elif "p50_ms" in row:
            value += f" (p50 {row['p50_ms']:,} ms)"
        lines.append(f"| {row['name']} | {value} | {baseline} | {row['goal']} | "
                     f"{'yes' if row['met'] else '**no**'} |")
    return lines


def _run_line(data: dict) -> str:
    m = data["machine"]
    stolen = m.get("steal_percent")
    return (f"{data['dossiers']:,} dossiers, {data['workers']} gunicorn workers, "
            f"{m['cores']} cores, {m['memory_mb']:,} MB memory, run {data['finished_at']} "
            f"(seeding {data['seed_seconds']:.0f} s"
            + ("" if stolen is None else f"; CPU time taken by the host while measuring: "
               f"{stolen}%") + ").")


def write_markdown(readme: Path | None = None) -> Path:
    """bench/RESULTS.md from the latest runs, and the PostgreSQL run's table in README.md
    between its two markers (left as it is when the markers are missing)."""
    lines = ["# Benchmark results", "",
             "Written by `bench/scale.py` (`make bench`; `--sqlite` for the embedded default). "
             "Each figure stands beside its baseline measured in the same run.", ""]
    runs = {}
    for name, title in (("latest.json", "PostgreSQL + Redis + gunicorn"),
                        ("latest-sqlite.json", "SQLite (embedded default) + gunicorn")):
        path = RESULTS_DIR / name
        if not path.exists():
            continue
        data = runs[name] = json.loads(path.read_text())
        lines += [f"## {title}", "", _run_line(data), "", *_table(data, details=True), ""]
    out = ROOT / "bench" / "RESULTS.md"
    out.write_text("\n".join(lines))
    readme = readme or ROOT / "README.md"
    data = runs.get("latest.json")
    text = readme.read_text() if readme.exists() else ""
    if data and README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        tail = rest.split(README_END, 1)[1]
        block = ["", f"PostgreSQL + Redis + gunicorn: {_run_line(data)}", "",
                 *_table(data, details=False), ""]
        readme.write_text(head + README_START + "\n".join(block) + "\n" + README_END + tail)
    return out


STEPS = ("submission", "queue", "indicators", "overdue", "clock", "demo", "first_page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="the embedded default (SQLite)")
    parser.add_argument("--dossiers", type=int, help="dossiers to seed (1,000,000; 20,000 "
                        "with --sqlite)")
    # Two per core, as README's deployment section starts a node: a sync worker waiting on
    # the database leaves its core to another.
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="gunicorn workers (two per core)")
    parser.add_argument("--seconds", type=float, default=15, help="length of each load run")
    # A third of the demo's own size, then the demo's size: 200 dossiers between the two, so
    # half a second of noise moves the rate by a twentieth, not a quarter as over 40.
    parser.add_argument("--demo-dossiers", type=int, default=100,
                        help="dossiers of the smaller demo seed (the larger is three times "
                             "as many: make demo's 300 by default)")
    parser.add_argument("--demo-repeats", type=int, default=3,
                        help="how many times the demo seeding pair runs (its quickest counts)")
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--only", default="", help="comma-separated figures to measure (of "
                        "submission, queue, indicators, overdue, clock, demo, first_page); all "
                        "by default")
    args = parser.parse_args()
    unknown = set(filter(None, args.only.split(","))) - set(STEPS)
    if unknown:
        parser.error(f"unknown figures for --only: {', '.join(sorted(unknown))}")
    n = args.dossiers or (20_000 if args.sqlite else 1_000_000)
    services = Services()

    def interrupted(signum, _frame) -> None:
        # Ctrl-C or a kill: stop what this run started, whatever the threads were doing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.stderr.write("\ninterrupted: stopping gunicorn, Celery, Redis and PostgreSQL ...\n")
        for scaled in list(_SCALED):
            scaled.__exit__(None, None, None)
        services.stop()
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        run(args, n, services)
    finally:
        services.stop()


def run(args, n: int, services: Services) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_LOG_LEVEL": "WARNING", "PRIVATE_MEDIA_ROOT": str(services.tmp / "media"),
        "CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    if args.sqlite:
        env["DATABASE_URL"] = f"sqlite:///{services.tmp}/bench.sqlite3"
        env["CACHE_URL"] = "locmemcache://"
    else:
        env["DATABASE_URL"] = services.start_postgres()
        env["CACHE_URL"] = services.start_redis()
    os.environ.update(env)
    import django
    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from dossiers.services import audit_verify

    call_command("migrate", verbosity=0)
    now = timezone.localtime().replace(microsecond=0)
    rnd = random.Random(args.seed)
    started = time.monotonic()
    ctx = seed(n, rnd=rnd, now=now)
    seed_seconds = time.monotonic() - started
    print(f"seeded {n:,} dossiers in {seed_seconds:.0f} s", file=sys.stderr)
    from dossiers.models import Dossier
    sample = random.Random(1).sample(range(1, n + 1), min(2000, n))
    broken = audit_verify(dossier_ids=sample)
    bulk_rate = n / ctx["bulk_seconds"]
    results = [_row("seed_dossiers_per_second", round(bulk_rate), "dossiers/s", None,
                    "1,000,000 in < 600 s", bulk_rate >= 1_000_000 / 600,
                    seconds=round(ctx["bulk_seconds"], 1),
                    audit_sample=len(sample), audit_broken=len(broken))]
    if broken:
        raise SystemExit(f"hash chains broken in the seeded data: {broken[:3]}")
    print(f"audit chains intact on a sample of {len(sample):,}; "
          f"{Dossier.objects.count():,} dossiers", file=sys.stderr)
    from django.db import connection
    connection.close()
    base = services.start_gunicorn(args.workers, {**os.environ, **env})
    measuring_from = cpu_times()
    wanted = set(filter(None, args.only.split(","))) or set(STEPS)
    steps = [
        ("submission", lambda: measure_submission(base, ctx, results, args.seconds,
                                                  args.workers)),
        ("queue", lambda: measure_queue(base, ctx, results, args.seconds)),
        ("indicators", lambda: measure_indicators(base, ctx, results, args.seconds, now)),
        ("overdue", lambda: measure_overdue(base, results, args.workers)),
    ]
    for label, step in steps:
        if label in wanted:
            print(f"measuring {label} ...", file=sys.stderr)
            step()
    rss = worker_rss_mb(services.gunicorn.pid)
    results.append(_row("gunicorn_worker_rss_after_load", round(rss, 1), "MB", None, "< 200",
                        0 < rss < 200))
    if "clock" in wanted:
        print("measuring the SLA clock ...", file=sys.stderr)
        from bench import clock
        results += clock.measure()
    if "demo" in wanted:
        print("measuring demo seeding ...", file=sys.stderr)
        measure_demo_seeding(results, args.demo_dossiers, args.demo_repeats)
    if "first_page" in wanted:
        print("measuring make demo's first page from a fresh clone ...", file=sys.stderr)
        measure_demo_first_page(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / ("latest-sqlite.json" if args.sqlite else "latest.json")
    out.write_text(json.dumps({
        "database": "sqlite" if args.sqlite else "postgresql", "dossiers": n,
        "workers": args.workers, "seed_seconds": round(seed_seconds, 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "steal_percent": stolen_percent(measuring_from, cpu_times())},
        "results": results,
    }, indent=2, ensure_ascii=False) + "\n")
    write_markdown()
    for row in results:
        baseline = "" if row["baseline"] is None else f"baseline {row['baseline']:>10,}"
        print(f"{row['name']:<44} {row['value']:>12,} {row['unit']:<10} {baseline:<20} "
              f"goal {row['goal']}: {'met' if row['met'] else 'NOT MET'}")
    print(f"wrote {out.relative_to(ROOT)} and bench/RESULTS.md")


if __name__ == "__main__":
    main()

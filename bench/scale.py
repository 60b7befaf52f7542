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
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS_DIR = ROOT / "bench" / "results"
PASSWORD = "motcua-demo-2025"  # the demo accounts' password (dossiers/services/demo.py)
PYTHON = sys.executable

# Final states with their weight per 10,000 dossiers: most of five years' dossiers are closed,
# a few percent are still open (drafts and dossiers in the officers' queues).
STATE_WEIGHTS = {
    "returned": 8300, "result_ready": 150, "refused": 300, "rejected": 250, "withdrawn": 200,
    "processing": 300, "awaiting_supplement": 90, "suspended": 30, "pending_approval": 90,
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
        port = free_port()
        self.gunicorn = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "portal.wsgi", "-w", str(workers),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"],
            cwd=ROOT, env=env, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        import requests
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/dang-nhap/", timeout=60)
                return base
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 120 s")

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
    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.start, self.done = total, label, time.monotonic(), 0

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


def _weighted(rnd: random.Random, weights: dict):
    keys = list(weights)
    cum, total = [], 0
    for k in keys:
        total += weights[k]
        cum.append(total)
    import bisect
    return lambda: keys[bisect.bisect_right(cum, rnd.random() * total)]


class Writer:
    """Rows into a table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.pg = connection.vendor == "postgresql"

    def _sqlite_value(self, value):
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return value

    def write(self, table: str, cols: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quoted = ", ".join(f'"{c}"' for c in cols)
        with self.connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("%s" for _ in cols)
                cursor.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',
                                   [tuple(self._sqlite_value(v) for v in row) for row in rows])


BULK_TABLES = ["dossiers_dossier", "dossiers_dossiertransition", "dossiers_clockinterval"]


def _indexes_drop(cursor) -> list[str]:
    """Drop the secondary indexes and the unique and foreign-key constraints of the bulk tables
    (PostgreSQL): one index build after the COPY is far cheaper than a million random inserts
    into each b-tree. Returns the statements that put every one of them back."""
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
    return [definition for _, definition in indexes] + restore


def seed(n: int, *, rnd: random.Random, now: datetime) -> dict:
    """N dossiers over five years across 20 agencies of very different sizes; returns what the
    measurements need (ids of users, the queue agency)."""
    from django.db import connection, transaction

    from dossiers.models import Agency, DailyCounter, DailySummary, Procedure, ProcessStep
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
    applicant_ids = list(User.objects.filter(username__startswith="bench-dn-")
                         .values_list("pk", flat=True)) + [users["doanhnghiep"].pk]
    officer = users["chuyenvien"]
    reception = users["tiepnhan"]
    leader = users["lanhdao"]
    actors = {"submit": None, "accept": reception, "return_for_completion": reception,
              "refuse_at_reception": reception, "request_supplement": officer,
              "suspend": officer, "propose": officer, "approve": leader, "refuse": leader,
              "issue_result": leader, "return_result": reception, "withdraw": None}
    forms = {p.pk: json.dumps(_form_for(p, users["doanhnghiep"]), ensure_ascii=False)
             for p in procedures}
    pick_state = _weighted(rnd, STATE_WEIGHTS)
    pick_channel = _weighted(rnd, CHANNEL_WEIGHTS)
    pick_agency = _weighted(rnd, agency_weights)
    pick_proc = _weighted(rnd, proc_weights)
    writer = Writer(connection)
    restore: list[str] = []
    if writer.pg:
        with connection.cursor() as cursor:
            restore = _indexes_drop(cursor)
    next_id = 1 + (connection.cursor().execute("SELECT COALESCE(MAX(id), 0) FROM dossiers_dossier")
                   .fetchone()[0])
    seqs: dict = defaultdict(int)
    summary: dict = defaultdict(lambda: defaultdict(int))
    progress = Progress(n, "dossiers")
    bulk_started = time.monotonic()
    span_minutes = 5 * 365 * 24 * 60
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
            if state in OPEN_STATES:  # open ones came in lately; some are past due
                submitted = now - timedelta(minutes=rnd.randint(60, int(days * 2.2 * 1440) + 60))
            else:
                submitted = now - timedelta(minutes=rnd.randint(int(days * 2 * 1440), span_minutes))
            submitted = submitted.replace(second=0, microsecond=0)
            path = PATHS[state]
            code = None
            if path:
                day = submitted.astimezone(now.tzinfo).date()
                seqs[(reception_agency.pk, day)] += 1
                code = reception_agency.format_code(day=day, seq=seqs[(reception_agency.pk, day)])
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
            for (name, frm, to), at in zip(path, moments, strict=True):
                actor = actors[name]
                row = SimpleNamespace(
                    dossier_id=pk, name=name, from_state=frm, to_state=to,
                    actor_id=actor.pk if actor else None,
                    actor_label=actor.display_name if actor else "", at=at, reason="",
                    step="", clock_effect="", details={}, prev_hash=head,
                )
                row.hash = transition_digest(row)
                head = row.hash
                t_rows.append((pk, name, frm, to, row.actor_id, row.actor_label, at, "", "", "",
                               "{}", row.prev_hash, row.hash))
            last = moments[-1] if moments else submitted
            paused = None
            if state in ("awaiting_supplement", "suspended"):
                paused = last
                kind = "supplement" if state == "awaiting_supplement" else "suspension"
                i_rows.append((pk, kind, proc.supplement_clock, last, None, "", None))
            elif state == "returned" and rnd.random() < 0.1:
                start = received + (completed - received) * 0.3
                stop = start + (completed - received) * 0.1
                i_rows.append((pk, "supplement", proc.supplement_clock, start, stop, "",
                               int((stop - start).total_seconds() // 60)))
            in_progress = state in ("processing", "awaiting_supplement", "suspended",
                                    "pending_approval", "approved")
            step_ids = steps.get(proc.pk) or [None]
            current_step = (step_ids[0] if state in ("processing", "awaiting_supplement",
                                                     "suspended") else step_ids[-1]
                            ) if in_progress else None
            received_at = received if len(path) > 1 and state not in (
                "needs_completion", "rejected") else None
            d_rows.append((
                pk, submitted, last, code, f"{rnd.getrandbits(64):016x}", "", channel, forms[proc.pk],
                state, 1, submitted if path else None, received_at,
                due if received_at else None,
                (due - timedelta(days=2)) if received_at else None,
                completed, last if state == "returned" else None,
                last if state == "withdrawn" else None, paused, outcome,
                last if in_progress else None,
                (last + timedelta(days=3)) if in_progress else None,
                "", head, rnd.choice(applicant_ids),
                officer.pk if in_progress and agency.pk == sct.pk else None,
                agency.pk, reception_agency.pk, proc.pk, current_step, "[]",
            ))
            # The daily summary, as the services keep it: by the handling agency's local day.
            fee = proc.fee_vnd > 0
            if received_at:
                key = (agency.pk, proc.pk, channel, received_at.astimezone(now.tzinfo).date())
                summary[key]["received"] += 1
                summary[key]["fee_bearing"] += fee
                summary[key]["paid_online"] += fee and channel == "online"
                summary[key]["digitized"] += rnd.random() < 0.8
            if completed:
                key = (agency.pk, proc.pk, channel, completed.astimezone(now.tzinfo).date())
                if state == "refused":
                    summary[key]["refused"] += 1
                else:
                    summary[key]["completed"] += 1
                    summary[key][outcome] += 1
                    summary[key]["results_electronic"] += rnd.random() < 0.5
                    if rnd.random() < 0.15:
                        rating = rnd.choice((3, 4, 4, 5, 5, 5))
                        summary[key]["rated"] += 1
                        summary[key]["rating_sum"] += rating
                        summary[key]["satisfied"] += rating >= 4
            elif state in ("rejected", "withdrawn"):
                key = (agency.pk, proc.pk, channel, last.astimezone(now.tzinfo).date())
                summary[key][state] += 1
        with transaction.atomic():
            writer.write("dossiers_dossier", DOSSIER_COLS, d_rows)
            writer.write("dossiers_dossiertransition", TRANSITION_COLS, t_rows)
            writer.write("dossiers_clockinterval", INTERVAL_COLS, i_rows)
        done += size
        progress.add(size)
    if restore:
        sys.stderr.write(f"building {len(restore)} indexes and constraints ...\n")
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for statement in restore:
                cursor.execute(statement)
    cols = ["agency_id", "procedure_id", "channel", "day", *DailySummary.COUNTERS]
    with transaction.atomic():
        writer.write(DailySummary._meta.db_table, cols, [
            (*key, *(counts.get(c, 0) for c in DailySummary.COUNTERS))
            for key, counts in summary.items()])
        writer.write(DailyCounter._meta.db_table, ["agency_id", "day", "value"],
                     [(a, d, v) for (a, d), v in seqs.items()])
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
    return {"sct": sct, "users": users, "procedures": procedures,
            "forms": {p.pk: _form_for(p, users["doanhnghiep"]) for p in procedures},
            "summary_rows": len(summary), "bulk_seconds": time.monotonic() - bulk_started}


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


def measure_submission(base, ctx, results, seconds) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    applicant = sign_in(base, "doanhnghiep")
    proc = ctx["procedures"][0]
    body = {"procedure_id": proc.pk, "form_data": ctx["forms"][proc.pk]}

    def create(s):
        return s.post(base + "/api/v1/dossiers/new/", json=body, timeout=60)

    def bare(s):
        return s.post(base + "/bench/bare-create/", json=body, timeout=60)

    bound = dict(clients=8, seconds=seconds, per_client=5000, expect=201)
    base_run = run_load(applicant, bare, **bound)
    full = run_load(applicant, create, **bound)
    half = run_load(applicant, create, rate=max(base_run["rate"] / 2, 1), **bound)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(ctx["users"]["doanhnghiep"])
    with CaptureQueriesContext(connection) as queries:
        client.post("/api/v1/dossiers/new/", body, content_type="application/json")
    results += [
        _row("submission_http_8_clients", round(full["rate"], 1), "req/s",
             round(base_run["rate"], 1), ">= 0.5 x bare DRF create (3 inserts)",
             full["rate"] >= 0.5 * base_run["rate"], p95_ms=round(full["p95_ms"], 1),
             errors=full["errors"] + base_run["errors"],
             note="POST /api/v1/dossiers/new/ (the applicant's create step)"),
        _row("submission_http_p95_at_half_bare_rate", round(half["p95_ms"], 1), "ms",
             round(base_run["p95_ms"], 1), "< 150", half["p95_ms"] < 150,
             rate=round(half["rate"], 1), errors=half["errors"]),
        _row("submission_queries", len(queries), "queries", 3, "<= 10", len(queries) <= 10,
             note="one create in process, session and user lookups included"),
    ]


def measure_queue(base, ctx, results, seconds) -> None:
    officer = sign_in(base, "chuyenvien")
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
    manager = sign_in(base, "quanly")
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


def measure_overdue(base, results) -> None:
    manager = sign_in(base, "quanly")
    started = time.perf_counter()
    response = manager.get(base + "/api/v1/overdue.csv", timeout=600)
    took = time.perf_counter() - started
    rows = max(response.text.count("\n") - 1, 0)
    rate = rows / took if took else 0.0
    results.append(_row("overdue_export_rows_per_second", round(rate), "rows/s", None,
                        ">= 15,000 (15,000 rows in < 1 s)", rate >= 15_000,
                        rows=rows, seconds=round(took, 2), status=response.status_code))


def measure_demo_seeding(results, count: int) -> None:
    """seed_demo through the services on a fresh SQLite database, in its own process. The
    same command with no dossiers (start-up, catalog, accounts, demo CA) runs on a copy of the
    same fresh database first: the rate is the dossiers over the time they add."""
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-demo-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
           "PRIVATE_MEDIA_ROOT": str(tmp / "media"), "CACHE_URL": "locmemcache://",
           "DJANGO_LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": ""}

    def seed(dossiers: int) -> tuple[float, subprocess.CompletedProcess]:
        shutil.copyfile(tmp / "migrated.sqlite3", tmp / "demo.sqlite3")
        shutil.rmtree(tmp / "media", ignore_errors=True)
        started = time.perf_counter()
        done = subprocess.run([PYTHON, "manage.py", "seed_demo", "--dossiers", str(dossiers)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        return time.perf_counter() - started, done

    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True,
                       timeout=600)
        shutil.copyfile(tmp / "demo.sqlite3", tmp / "migrated.sqlite3")
        fixed, empty = seed(0)
        took, done = seed(count)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    walking = max(took - fixed, 1e-6)
    rate = count / walking
    ok = done.returncode == 0 and empty.returncode == 0
    failed = done if done.returncode else empty
    results.append(_row("demo_seeding_dossiers_per_second", round(rate, 2), "dossiers/s", None,
                        ">= 20", ok and rate >= 20, dossiers=count, seconds=round(took, 1),
                        fixed_seconds=round(fixed, 1), overall_per_second=round(count / took, 2),
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


def machine() -> dict:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    return {"cores": os.cpu_count(), "memory_mb": mem}


# --- report ---------------------------------------------------------------------------

def write_markdown() -> Path:
    lines = ["# Benchmark results", "",
             "Written by `bench/scale.py` (`make bench`; `--sqlite` for the embedded default). "
             "Each figure stands beside its baseline measured in the same run.", ""]
    for name, title in (("latest.json", "PostgreSQL + Redis + gunicorn"),
                        ("latest-sqlite.json", "SQLite (embedded default) + gunicorn")):
        path = RESULTS_DIR / name
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        m = data["machine"]
        lines += [f"## {title}", "",
                  f"{data['dossiers']:,} dossiers, {data['workers']} gunicorn workers, "
                  f"{m['cores']} cores, {m['memory_mb']:,} MB memory, run {data['finished_at']} "
                  f"(seeding {data['seed_seconds']:.0f} s).", "",
                  "| Figure | Value | Same-run baseline | Goal | Met |", "|---|---|---|---|---|"]
        for row in data["results"]:
            baseline = "—" if row["baseline"] is None else f"{row['baseline']:,}"
            extra = ", ".join(f"{k} {v}" for k, v in row.items()
                              if k in ("p50_ms", "baseline_p50_ms", "p95_ms", "rows",
                                       "seconds", "rate", "errors", "note",
                                       "open_states_p50_ms")
                              and v not in (0, None))
            value = f"{row['value']:,} {row['unit']}" + (f" ({extra})" if extra else "")
            lines.append(f"| {row['name']} | {value} | {baseline} | {row['goal']} | "
                         f"{'yes' if row['met'] else '**no**'} |")
        lines.append("")
    out = ROOT / "bench" / "RESULTS.md"
    out.write_text("\n".join(lines))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="the embedded default (SQLite)")
    parser.add_argument("--dossiers", type=int, help="dossiers to seed (1,000,000; 20,000 "
                        "with --sqlite)")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2),
                        help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=15, help="length of each load run")
    parser.add_argument("--demo-dossiers", type=int, default=20,
                        help="dossiers for the demo seeding rate")
    parser.add_argument("--seed", type=int, default=766)
    args = parser.parse_args()
    n = args.dossiers or (20_000 if args.sqlite else 1_000_000)
    services = Services()

    def interrupted(signum, _frame) -> None:
        # Ctrl-C or a kill: stop what this run started, whatever the threads were doing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.stderr.write("\ninterrupted: stopping gunicorn, Redis and PostgreSQL ...\n")
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
    steps = [
        ("submission", lambda: measure_submission(base, ctx, results, args.seconds)),
        ("queue", lambda: measure_queue(base, ctx, results, args.seconds)),
        ("indicators", lambda: measure_indicators(base, ctx, results, args.seconds, now)),
        ("overdue export", lambda: measure_overdue(base, results)),
    ]
    for label, step in steps:
        print(f"measuring {label} ...", file=sys.stderr)
        step()
    rss = worker_rss_mb(services.gunicorn.pid)
    results.append(_row("gunicorn_worker_rss_after_load", round(rss, 1), "MB", None, "< 200",
                        0 < rss < 200))
    print("measuring the SLA clock ...", file=sys.stderr)
    from bench import clock
    results += clock.measure()
    print("measuring demo seeding ...", file=sys.stderr)
    measure_demo_seeding(results, args.demo_dossiers)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / ("latest-sqlite.json" if args.sqlite else "latest.json")
    out.write_text(json.dumps({
        "database": "sqlite" if args.sqlite else "postgresql", "dossiers": n,
        "workers": args.workers, "seed_seconds": round(seed_seconds, 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "results": results,
    }, indent=2, ensure_ascii=False) + "\n")
    write_markdown()
    for row in results:
        baseline = "" if row["baseline"] is None else f"baseline {row['baseline']:>10,}"
        print(f"{row['name']:<44} {row['value']:>12,} {row['unit']:<10} {baseline:<20} "
              f"goal {row['goal']}: {'met' if row['met'] else 'NOT MET'}")
    print(f"wrote {out.relative_to(ROOT)} and bench/RESULTS.md")


if __name__ == "__main__":
    main()

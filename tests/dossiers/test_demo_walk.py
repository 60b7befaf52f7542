"""The demo's walk: a plan that opens the portal early, walked by one or two processes."""

import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from contextlib import closing
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

from django.core.management import CommandError, call_command

import pytest

from dossiers.services import demo

ROOT = Path(__file__).resolve().parents[2]

def _procedures(count: int = 5):
    return [SimpleNamespace(pk=pk) for pk in range(1, count + 1)]


def test_the_first_batch_is_mostly_dossiers_without_a_signed_result():
    plan = demo._plan(rnd=random.Random(2025), procedures=_procedures(), dossiers=300,
                      first_batch=40)
    unordered = demo._plan(rnd=random.Random(2025), procedures=_procedures(), dossiers=300,
                           first_batch=0)

    signed_first = [p for p in plan[:40] if p.target in demo.SIGNED_TARGETS]
    assert 1 <= len(signed_first) <= 4  # one in ten: results are there from the start
    assert sum(p.target in demo.SIGNED_TARGETS for p in unordered[:40]) > 4
    # The same dossiers, only in another order.
    assert sorted(plan, key=lambda p: p.index) == unordered
    assert len({p.seed for p in plan}) == 300


def test_without_a_first_batch_the_plan_keeps_its_order():
    plan = demo._plan(rnd=random.Random(7), procedures=_procedures(), dossiers=30, first_batch=30)
    assert [p.index for p in plan] == list(range(30))


def test_a_second_walker_is_refused_inside_a_transaction(db):
    assert not demo.demo_processes_usable()
    assert demo.demo_walkers() == 1


def test_walkers_share_a_database_on_disk_even_with_the_in_process_fakes(monkeypatch):
    if demo.connection.vendor == "sqlite":
        # The tests' SQLite lives in memory: no other process would see its rows.
        assert not demo.demo_processes_usable()
        monkeypatch.setattr(demo.connection, "is_in_memory_db", lambda: False)
    assert demo.demo_processes_usable()
    monkeypatch.setattr(demo.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    assert demo.demo_walkers() == demo.WALKERS_AT_MOST == 2
    monkeypatch.setattr(demo.os, "sched_getaffinity", lambda pid: {3})
    assert demo.demo_walkers() == 1
    monkeypatch.setattr(demo.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(demo.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert demo.demo_walkers() == 1  # the walkers are forked


def test_seed_demo_refuses_a_second_walker_that_would_not_share_the_rows(db):
    with pytest.raises(CommandError, match="Chỉ chạy nhiều tiến trình"):
        call_command("seed_demo", "--dossiers", "4", "--processes", "2", stdout=StringIO())


class _PidWalker:
    """Ends every dossier in a 'state' naming the process that walked it."""

    now = demo.clock.now()
    rnd = None

    def walk(self, procedure, target, start):
        if target == "boom":
            raise ValueError("walk failed")
        return SimpleNamespace(state=f"{os.getpid()}:{procedure.pk}")


def _planned(count: int, target: str = "draft"):
    return [demo._Planned(index=i, target=target, back_days=1, procedure_id=1, seed=i)
            for i in range(count)]


@pytest.fixture
def no_database(monkeypatch):
    # The stub walker touches no rows; the children skip their connection's set-up.
    monkeypatch.setattr(demo, "_sqlite_sync_off", lambda: None)


def test_two_processes_walk_every_planned_dossier_once(no_database):
    states = []

    demo._walk_all(_planned(10), procedures={1: SimpleNamespace(pk=1)}, walker=_PidWalker(),
                   processes=2, done=states.append)

    pids = Counter(state.split(":")[0] for state in states)
    assert len(states) == 10
    assert len(pids) == 2 and str(os.getpid()) not in pids
    assert sorted(pids.values()) == [5, 5]


class _GcWalker(_PidWalker):
    """Ends every dossier in a 'state' saying how the walker's collector is set."""

    def walk(self, procedure, target, start):
        import gc

        return SimpleNamespace(state=f"{gc.get_freeze_count() > 0}:{gc.get_threshold()[0]}")


def test_the_walkers_collector_leaves_the_parents_objects_alone(no_database):
    import gc

    threshold = gc.get_threshold()
    states = []
    demo._walk_all(_planned(4), procedures={1: SimpleNamespace(pk=1)}, walker=_GcWalker(),
                   processes=2, done=states.append)
    assert states == [f"True:{demo.WALKER_GC_THRESHOLD}"] * 4
    # The parent collects its own objects again, as often as before.
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


def test_a_failed_walk_in_a_child_process_fails_the_seed(no_database):
    with pytest.raises(RuntimeError, match="walk failed"):
        demo._walk_all(_planned(4, target="boom"), procedures={1: SimpleNamespace(pk=1)},
                       walker=_PidWalker(), processes=2, done=lambda state: None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_seed_demo_gives_up_on_a_simulator_that_never_answers(db):
    url = f"http://127.0.0.1:{_free_port()}/_control/state"
    with pytest.raises(CommandError, match="không trả lời sau"):
        call_command("seed_demo", "--dossiers", "0", "--wait-for", url, "--wait-seconds", "0.5",
                     stdout=StringIO())


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1/", "127.0.0.1:8000"])
def test_seed_demo_waits_only_for_an_http_address(db, url):
    with pytest.raises(CommandError, match="cần một địa chỉ http"):
        call_command("seed_demo", "--dossiers", "0", "--wait-for", url, stdout=StringIO())


def test_seed_demo_goes_on_once_the_simulator_answers(db):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = StringIO()
        call_command("seed_demo", "--dossiers", "0", "--wait-for",
                     f"http://127.0.0.1:{server.server_port}/_control/state", stdout=out)
    finally:
        server.shutdown()
    assert "Tài khoản demo" in out.getvalue()


@pytest.mark.parametrize("count", [16, 40, 300])
def test_any_number_of_demo_dossiers_has_the_mix_of_states_the_weights_say(count):
    mix = Counter(demo._targets_in_proportion(count))
    total = sum(demo.TARGETS.values())

    assert sum(mix.values()) == count
    for target, weight in demo.TARGETS.items():
        assert abs(mix[target] - weight * count / total) < 1.5, (target, mix[target])


def test_two_walkers_seed_a_database_on_disk_with_the_in_process_fakes(tmp_path):
    """`seed_demo` with two walkers (its default on two cores or more) and the fake portals
    and payment platform of a fresh checkout: every email and portal message out at the end."""
    database = tmp_path / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "DATABASE_URL", "CACHE_URL", "CELERY_", "NATIONAL_",
                                "PROVINCIAL_", "PAYMENT_", "PRIVATE_MEDIA_ROOT"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_DEBUG="1",
               DJANGO_LOG_LEVEL="WARNING", DATABASE_URL=f"sqlite:///{database}",
               PRIVATE_MEDIA_ROOT=str(tmp_path / "media"), CACHE_URL="locmemcache://",
               CELERY_BROKER_URL="")
    done = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--migrate", "--dossiers", "12",
         "--processes", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    with closing(sqlite3.connect(database)) as db:
        def one(sql: str, *params):
            return db.execute(sql, params).fetchone()[0]

        assert one("SELECT count(*) FROM dossiers_dossier") == 12
        assert one("SELECT count(*) FROM dossiers_notification WHERE status = 'pending'") == 0
        assert one("SELECT count(*) FROM dossiers_outboundmessage WHERE status IN "
                   "('pending', 'sending', 'failed', 'dead')") == 0
        assert one("SELECT count(*) FROM dossiers_outboundmessage WHERE status = 'sent'") > 0
        references = [r for (r,) in db.execute(
            "SELECT provider_reference FROM dossiers_payment WHERE provider = 'fake'")]
        # Paid by the forked walkers, each on its own copy of the fake platform.
        assert references and all(re.fullmatch(r"FAKE-\d+-\d{6}", r) for r in references)
        assert one("PRAGMA journal_mode") == "wal"

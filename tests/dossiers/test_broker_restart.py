"""Redis, the Celery broker, restarted while a real worker has work in flight: every change
stays committed and every side effect it owes (outbox pushes, emails) happens exactly once.

Redis runs without persistence, as in the deployment notes: a restart loses every queued and
unacknowledged task message. What survives is the stored state (outbox and notification rows),
which the beat's sweeps (`relay_outbox`, `sweep_notifications`) deliver. PostgreSQL only: the
worker is another process on the same test database."""

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.urls import reverse

import pytest

import portal.celery
import portal.effects
from dossiers.models import Dossier, DossierTransition, Notification, OutboundMessage
from dossiers.services import workflow
from integrations.simulator import TIMEOUT
from tests.dossiers.factories import DossierFactory, ProcedureFactory
from tests.dossiers.test_sync_faults import (  # noqa: F401 - `wired`: a fixture
    ROOT,
    delivered,
    expected_deliveries,
    portal_settings,
    wait_for,
    wired,
)
from tests.integrations.conftest import simulator  # noqa: F401 - a fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def assert_audit_intact() -> None:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)  # raises on a broken link
    assert out.getvalue().strip().endswith("Audit log intact.")

LEASE_SECONDS = 3
STALL_SECONDS = 4  # the portal's silence after one push: the worker is busy meanwhile
BEAT_TICKS = 40  # the beat's runs emulated below, one every half second at most


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of this test's own on a loopback port, without persistence."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_for(lambda: self.process.poll() is not None or _pings(client),
                 timeout=10, what="redis-server to answer")
        assert self.process.poll() is None, (self.directory / "redis.log").read_text()

    def kill(self) -> None:
        """SIGKILL: whatever it held in memory is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on the PATH; .ci/run installs it")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(redis_server, wired, transactional_db, monkeypatch, tmp_path):  # noqa: F811
    """A real prefork worker on the test database and Redis; this process queues every task
    after commit through the same broker, by the project's own `task_queue`."""
    from celery import Celery

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        **{k: ",".join(v) if isinstance(v, list) else str(v)
           for k, v in portal_settings(wired).items()},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_server.url, "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "INTEGRATIONS_READ_TIMEOUT": str(STALL_SECONDS + 4),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "worker.log"
    name = f"restart-test-{os.getpid()}@localhost"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--prefetch-multiplier=1", "--loglevel=INFO", "-n", name],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    # The app `task_queue` sends through: the project's tasks, on this broker, not eager.
    app = Celery("portal", broker=redis_server.url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    monkeypatch.setattr(portal.celery, "app", app)
    try:
        wait_for(lambda: process.poll() is not None
                 or bool(app.control.ping(destination=[name], timeout=0.5)),
                 timeout=60, what="the worker to start")
        assert process.poll() is None, log.read_text()
        yield process, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        app.close()


def beat_tick() -> None:
    """What the beat sends every minute or two: the relay and the notification sweep."""
    portal.effects.task_queue("dossiers.tasks.relay_outbox")
    portal.effects.task_queue("dossiers.tasks.sweep_notifications")


def settled() -> bool:
    return not (OutboundMessage.objects.exclude(status="sent").exists()
                or Notification.objects.filter(status="pending").exists())


def test_redis_killed_with_tasks_in_flight_and_restarted_loses_no_change_and_no_delivery(
    broker, redis_server, wired, agency, reception, api_client_for, caplog  # noqa: F811
):
    import redis

    process, log = broker
    before, during, down = (
        DossierFactory.create_batch(n, submitted=True, procedure=ProcedureFactory(agency=agency))
        for n in (2, 6, 3)
    )
    for dossier in before:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    wait_for(settled, timeout=30, what="the worker to deliver the first changes")

    # The next push is processed by the portal, which then stays silent: the worker's only
    # process is busy, and the tasks of the changes below wait in Redis.
    wired.configure_faults("national", timeout_seconds=STALL_SECONDS)
    wired.fail_next("national", TIMEOUT)
    for dossier in during:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    client = redis.Redis.from_url(redis_server.url, socket_timeout=1)
    queued = client.llen("celery") + client.hlen("unacked")
    assert queued >= len(during)  # a relay and an email per change, not yet taken

    redis_server.kill()
    # Redis down: the changes commit and the caller hears success; queueing fails, logged.
    started = time.monotonic()
    response = api_client_for(reception).post(
        reverse("api:dossiers:accept", args=[down[0].pk]), {}, format="json")
    assert response.status_code == 200, response.content
    for dossier in down[1:]:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    assert time.monotonic() - started < 15
    not_queued = [r for r in caplog.records if r.name == "portal.effects"]
    assert len(not_queued) >= 2 * len(down)
    redis_server.start()
    assert client.llen("celery") == 0  # restarted empty: every queued task message is lost

    for _ in range(BEAT_TICKS):
        if settled():
            break
        beat_tick()
        time.sleep(0.5)
    wait_for(settled, timeout=30, what="the sweeps to deliver everything owed")

    everyone = before + during + down
    assert set(Dossier.objects.filter(pk__in=[d.pk for d in everyone]).values_list(
        "state", flat=True)) == {"processing"}
    assert DossierTransition.objects.filter(name="accept").count() == len(everyone)
    portal = wired.portals["national"]
    assert portal.delivery_count() == OutboundMessage.objects.count() == len(everyone)
    for dossier in everyone:
        assert delivered(wired, dossier) == expected_deliveries(dossier)  # once, in order
    pushes = [r.idempotency_key for r in wired.received("national") if r.idempotency_key]
    replays = [r for r in wired.received("national") if r.replayed]
    # Only the stalled push went twice (its lease ran out), answered from the portal's memory.
    assert len(pushes) - len(set(pushes)) == len(replays) <= 1
    emails = Notification.objects.filter(transition__name="accept")
    assert emails.count() == len(everyone)
    assert set(emails.values_list("status", "attempts")) == {("sent", 1)}
    assert process.poll() is None and "Connection to broker lost" in log.read_text()
    assert_audit_intact()

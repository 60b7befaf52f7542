"""The outbox, payments and relays against the loopback simulator with faults injected: every
change reaches the portals exactly once and in order, every payment ends with the same truth."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.test import override_settings
from django.urls import reverse

import pytest
import requests

from dossiers import services
from dossiers.models import DailySummary, Dossier, DossierTransition, OutboundMessage, Payment
from dossiers.services import review, sync, workflow
from dossiers.services.outbox_alerts import outbox_alerts
from dossiers.services.payments import payment_reconcile, payment_start
from integrations.registry import get_portal_adapter
from integrations.simulator import DRIP, DROP, GARBLED, TIMEOUT
from integrations.wire import CHECKSUM_FIELD, format_vn
from portal import clock
from tests.dossiers.factories import DossierFactory, ProcedureFactory
from tests.integrations.conftest import (  # noqa: F401 - `simulator`, `receiver`: fixtures
    BENEFICIARY,
    MERCHANT_ID,
    NATIONAL_CREDENTIALS,
    PAYMENT_SECRET,
    PROVINCIAL_CREDENTIALS,
    READ_TIMEOUT,
    receiver,
    simulator,
)

CALLBACK = "api:dossiers:integrations:payment_callback"
STATUS = "api:dossiers:integrations:payment_status"
# A settled relay run: nothing due is left, so each loop below ends well before its bound.
MAX_RELAY_RUNS = 30


def portal_settings(sim) -> dict:
    return {
        "NATIONAL_PORTAL_URL": sim.url_for("national"),
        "NATIONAL_PORTAL_USERNAME": NATIONAL_CREDENTIALS[0],
        "NATIONAL_PORTAL_PASSWORD": NATIONAL_CREDENTIALS[1],
        "PROVINCIAL_PORTAL_URL": sim.url_for("provincial"),
        "PROVINCIAL_PORTAL_USERNAME": PROVINCIAL_CREDENTIALS[0],
        "PROVINCIAL_PORTAL_PASSWORD": PROVINCIAL_CREDENTIALS[1],
        "INTEGRATIONS_CONNECT_TIMEOUT": 1.0,
        "INTEGRATIONS_READ_TIMEOUT": READ_TIMEOUT,
        "INTEGRATIONS_TOKEN_SKEW": 0.0,
        "SYNC_SYSTEMS": ["national"],
        # Retry at once: these tests drive the relay by hand instead of waiting for backoff.
        "OUTBOX_BACKOFF_BASE_SECONDS": 0,
        "OUTBOX_BACKOFF_MAX_SECONDS": 0,
    }


@pytest.fixture
def wired(simulator):  # noqa: F811
    """The adapters pointed at the simulator through settings, as `make demo` does."""
    with override_settings(**portal_settings(simulator)):
        yield simulator


def relay_until_settled(**kwargs) -> list[sync.RelayReport]:
    reports = []
    for _ in range(MAX_RELAY_RUNS):
        report = sync.outbox_relay(**kwargs)
        reports.append(report)
        if report.handled == 0:
            return reports
    pytest.fail(f"the relay did not settle in {MAX_RELAY_RUNS} runs: {reports[-3:]}")


def expected_deliveries(dossier: Dossier) -> list[tuple[str, str]]:
    """The (idempotency key, kind) of each message the dossier owes the national portal."""
    kinds = {"push_dossier": "dossier", "push_progress": "progress"}
    return [(key, kinds[kind]) for key, kind in OutboundMessage.objects.filter(
        dossier=dossier, system="national").order_by("id").values_list("idempotency_key", "kind")]


def delivered(sim, dossier: Dossier) -> list[tuple[str, str]]:
    return [(d.idempotency_key, d.kind) for d in sim.deliveries("national", dossier.code)]


# --- the national portal ---------------------------------------------------------------


def test_the_portal_down_while_200_dossiers_change_state_then_every_change_arrives_once_in_order(
    wired, agency, reception, specialist
):
    procedure = ProcedureFactory(agency=agency)
    dossiers = DossierFactory.create_batch(200, submitted=True, procedure=procedure)
    wired.set_down("national")
    for dossier in dossiers:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    down_report = sync.outbox_relay()
    for i, dossier in enumerate(dossiers):
        if i % 2:
            review.dossier_propose(dossier_id=dossier.pk, actor=specialist)
        else:
            review.dossier_suspend(dossier_id=dossier.pk, actor=specialist, reason="Chờ")
            review.dossier_resume(dossier_id=dossier.pk, actor=specialist)
    still_down = sync.outbox_relay()

    wired.set_down("national", False)
    relay_until_settled()

    # While down, each run tries the portal once and hands the rest of its claim back.
    assert [(r.sent, r.failed) for r in (down_report, still_down)] == [(0, 1), (0, 1)]
    assert [r.status for r in wired.received("national")][:2] == [503, 503]
    assert OutboundMessage.objects.filter(attempts__gt=2).count() == 0
    assert not OutboundMessage.objects.exclude(status="sent").exists()
    portal = wired.portals["national"]
    assert portal.delivery_count() == OutboundMessage.objects.count() == 500
    for i, dossier in enumerate(dossiers):
        # Exactly once: each message's key was counted once, in the order the changes happened.
        assert delivered(wired, dossier) == expected_deliveries(dossier)
        codes = [d.status_code for d in wired.deliveries("national", dossier.code)]
        assert codes == (["2", "4"] if i % 2 else ["2", "8", "4"])


def test_timeouts_and_dropped_connections_after_the_portal_processed_are_deduplicated(
    wired, agency, reception, specialist
):
    procedure = ProcedureFactory(agency=agency)
    dossiers = DossierFactory.create_batch(12, submitted=True, procedure=procedure)
    for dossier in dossiers:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
        review.dossier_propose(dossier_id=dossier.pk, actor=specialist)
    sync.outbox_relay(batch=1, max_rounds=1)  # logged in: the faults below hit pushes only
    wired.fail_next("national", TIMEOUT, 3)
    wired.fail_next("national", DROP, 3)

    relay_until_settled()

    received = wired.received("national")
    faulted = [r.idempotency_key for r in received if r.fault in (TIMEOUT, DROP)]
    assert len(faulted) == 6
    for key in faulted:
        # Processed the first time, so the retry is answered from the portal's memory.
        tries = [(r.fault, r.replayed) for r in received if r.idempotency_key == key]
        assert len(tries) == 2 and tries[0][0] in (TIMEOUT, DROP) and tries[0][1] is False
        assert tries[1] == ("", True)
        row = OutboundMessage.objects.get(idempotency_key=key)
        assert (row.status, row.attempts) == ("sent", 2)
    for dossier in dossiers:
        assert delivered(wired, dossier) == expected_deliveries(dossier)
    assert wired.portals["national"].delivery_count() == 24


def test_an_expired_token_mid_batch_logs_in_again_and_the_batch_goes_on(
    wired, agency, reception
):
    procedure = ProcedureFactory(agency=agency)
    for dossier in DossierFactory.create_batch(30, submitted=True, procedure=procedure):
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)

    first = sync.outbox_relay(batch=10, max_rounds=1)
    wired.expire_tokens("national")
    rest = relay_until_settled()

    assert first.sent == 10 and rest[0].sent == 20 and rest[0].failed == 0
    assert wired.portals["national"].logins == 2
    refused = [r for r in wired.received("national") if r.status == 401]
    assert len(refused) == 1
    assert set(OutboundMessage.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert wired.portals["national"].delivery_count() == 30


def test_a_refusal_by_the_portal_is_dead_at_once_and_holds_back_the_later_changes(
    wired, agency, specialist, leader
):
    # Received here but never pushed: the portal refuses progress for a dossier it lacks (404).
    dossier = DossierFactory(processing=True, procedure=ProcedureFactory(agency=agency))
    review.dossier_propose(dossier_id=dossier.pk, actor=specialist)
    review.dossier_send_back(dossier_id=dossier.pk, actor=leader, reason="Bổ sung")

    report = sync.outbox_relay()

    first, later = OutboundMessage.objects.order_by("id")
    assert (report.dead, report.sent) == (1, 0)
    assert (first.status, first.attempts) == ("dead", 1)
    assert "[portal_rejected]" in first.last_error
    assert (later.status, later.attempts) == ("pending", 0)
    assert len(wired.received("national")) == 2  # the login and the one refused push


def test_refused_credentials_hold_the_backlog_without_killing_it_and_it_flows_once_fixed(
    wired, agency, reception, caplog
):
    procedure = ProcedureFactory(agency=agency)
    dossiers = DossierFactory.create_batch(5, submitted=True, procedure=procedure)
    with override_settings(NATIONAL_PORTAL_PASSWORD="rotated-elsewhere", OUTBOX_MAX_ATTEMPTS=2):
        for dossier in dossiers:
            workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
        refused = [sync.outbox_relay() for _ in range(8)]
        alerts = [a.text for a in outbox_alerts()]

    # Each run tries the portal once and backs off; more tries than OUTBOX_MAX_ATTEMPTS, no death.
    assert [(r.sent, r.failed, r.dead) for r in refused] == [(0, 1, 0)] * 8
    assert not OutboundMessage.objects.filter(status="dead").exists()
    assert max(OutboundMessage.objects.values_list("attempts", flat=True)) > 1
    assert set(OutboundMessage.objects.exclude(attempts=0).values_list(
        "status", "attention")) == {("failed", "credentials")}
    assert len(alerts) == 1 and alerts[0].startswith(
        "Cổng Dịch vụ công quốc gia: Cổng từ chối thông tin đăng nhập")
    logged = [r for r in caplog.records if r.name == "dossiers.services.sync"]
    assert len(logged) == 8 and {r.levelname for r in logged} == {"ERROR"}
    logins = [r.status for r in wired.received("national") if r.path == "/api/auth/login"]
    assert logins == [401] * 8

    relay_until_settled()  # the password is right again: no re-drive needed

    assert set(OutboundMessage.objects.values_list("status", "attention")) == {("sent", "")}
    for dossier in dossiers:
        assert delivered(wired, dossier) == expected_deliveries(dossier)
    assert outbox_alerts() == []


def test_an_unreadable_answer_is_retried_flagged_and_delivered_once(wired, agency, reception):
    dossier = DossierFactory(submitted=True, procedure=ProcedureFactory(agency=agency))
    workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    get_portal_adapter("national").login()
    wired.fail_next("national", GARBLED)

    first = sync.outbox_relay()
    message = OutboundMessage.objects.get()
    assert (first.failed, message.status, message.attention) == (1, "failed", "unreadable")

    relay_until_settled()

    message.refresh_from_db()
    assert (message.status, message.attempts, message.attention) == ("sent", 2, "")
    tries = [(r.fault, r.replayed) for r in wired.received("national")
             if r.idempotency_key == message.idempotency_key]
    assert tries == [(GARBLED, False), ("", True)]
    assert delivered(wired, dossier) == expected_deliveries(dossier)


def test_a_slowly_dripped_answer_is_cut_before_the_lease_runs_out(
    wired, agency, reception, settings
):
    # The lease is shorter than one send may take (connect 1 s + read 0.3 s): the total
    # deadline, not the per-read timeout, is what must end the send in time.
    settings.OUTBOX_LEASE_SECONDS = 1
    dossier = DossierFactory(submitted=True, procedure=ProcedureFactory(agency=agency))
    workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
    get_portal_adapter("national").login()
    wired.configure_faults("national", drip_seconds=0.05)  # each byte well within 0.3 s
    wired.fail_next("national", DRIP)

    started = time.monotonic()
    report = sync.outbox_relay()
    elapsed = time.monotonic() - started

    message = OutboundMessage.objects.get()
    assert elapsed < settings.OUTBOX_LEASE_SECONDS
    assert (report.failed, message.status, message.lease_until) == (1, "failed", None)
    assert "quá chậm" in message.last_error
    relay_until_settled()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert delivered(wired, dossier) == expected_deliveries(dossier)  # processed once


def test_every_change_reaches_the_portal_with_its_national_code_and_time(
    wired, agency, applicant, reception, specialist, settings, pdf_file
):
    procedure = ProcedureFactory(agency=agency)
    online = DossierFactory(applicant=applicant, procedure=procedure)
    services.document_upload(dossier_id=online.pk, actor=applicant,
                             component_code="don_de_nghi", uploaded_file=pdf_file())
    workflow.dossier_submit(dossier_id=online.pk, actor=applicant)
    workflow.dossier_return_for_completion(dossier_id=online.pk, actor=reception,
                                           reason="Thiếu bản vẽ")
    workflow.dossier_resubmit(dossier_id=online.pk, actor=applicant)
    workflow.dossier_accept(dossier_id=online.pk, actor=reception)
    review.dossier_suspend(dossier_id=online.pk, actor=specialist, reason="Chờ ý kiến")
    review.dossier_resume(dossier_id=online.pk, actor=specialist)
    refused = DossierFactory(submitted=True, procedure=procedure)
    workflow.dossier_refuse_at_reception(dossier_id=refused.pk, actor=reception,
                                         reason="Không thuộc thẩm quyền")

    relay_until_settled()

    def wire(dossier) -> list[tuple[str, str]]:
        return [(d.status_code, d.at) for d in wired.deliveries("national", dossier.code)]

    def logged(dossier) -> list[str]:
        return [format_vn(r.at) for r in DossierTransition.objects.filter(
            dossier=dossier).order_by("id")]

    online.refresh_from_db()
    assert [code for code, _at in wire(online)] == ["1", "5", "1", "2", "8", "4"]
    assert [at for _code, at in wire(online)] == logged(online)
    [refusal] = wired.deliveries("national", refused.code)
    assert (refusal.status_code, refusal.at) == ("3", logged(refused)[0])
    assert refusal.payload["NoiDungXuLy"] == "Không thuộc thẩm quyền"
    assert refusal.payload["NgayTiepNhan"] == ""  # never received: only the change has a time
    # The first message went at the first submission; the resubmission later moved the
    # dossier's submission time, so the message carries the time of its own change.
    first = wired.deliveries("national", online.code)[0].payload
    assert (first["MaTTHC"], first["NgayNopHoSo"]) == (procedure.national_code, logged(online)[0])
    assert "LOCAL" not in json.dumps([d.payload for d in wired.deliveries("national", online.code)])


# --- payments against the simulated platform -------------------------------------------


@pytest.fixture
def platform(simulator, live_server):  # noqa: F811
    """The payment platform on the simulator, calling back to this app on a live server."""
    with override_settings(
        PAYMENT_PLATFORM_URL=simulator.url_for("payment"), PAYMENT_MERCHANT_ID=MERCHANT_ID,
        PAYMENT_SECRET=PAYMENT_SECRET, PAYMENT_BENEFICIARY_ACCOUNT=BENEFICIARY.account_number,
        PAYMENT_BENEFICIARY_BANK=BENEFICIARY.bank_code,
        PAYMENT_BENEFICIARY_NAME=BENEFICIARY.account_name,
        PAYMENT_NOTIFY_URL=live_server.url + reverse(CALLBACK),
        PAYMENT_CALLBACK_WINDOW_SECONDS=600,
        INTEGRATIONS_CONNECT_TIMEOUT=1.0, INTEGRATIONS_READ_TIMEOUT=2.0,
    ):
        yield simulator.payment


@pytest.fixture
def fee_dossier(transactional_db, applicant):
    """A received dossier whose fee is due before the result: a payment counts on its day."""
    return DossierFactory(applicant=applicant, processing=True,
                          procedure=ProcedureFactory(fee_before_result=True))


def _state(payment: Payment) -> tuple:
    payment.refresh_from_db()
    return (payment.status, payment.paid_at, payment.confirmed_by, payment.bank_transaction_no)


def paid_online() -> int:
    return sum(DailySummary.objects.values_list("paid_online", flat=True))


def test_a_payment_through_the_platform_is_paid_by_its_callback(platform, fee_dossier, applicant):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    assert payment.provider == "platform" and payment.provider_reference.startswith("PG")
    assert payment.redirect_url == f"{platform.base_url}/pay/{payment.provider_reference}"
    assert _state(payment)[0] == "pending"

    [record] = platform.pay(payment.provider_reference)

    assert record.answer_status == 200
    status, paid_at, confirmed_by, bank_no = _state(payment)
    assert (status, confirmed_by) == ("paid", "callback:platform")
    assert bank_no == record.fields["MaGiaoDichNganHang"] and paid_at is not None
    assert paid_online() == 1


def test_a_duplicate_callback_from_the_platform_is_applied_once(platform, fee_dossier, applicant):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    platform.set_callback_mode("duplicate")

    records = platform.pay(payment.provider_reference)

    assert [r.answer_status for r in records] == [200, 200]
    assert _state(payment)[0] == "paid"
    assert paid_online() == 1


def test_an_out_of_order_pending_callback_after_the_paid_one_changes_nothing(
    platform, fee_dossier, applicant
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    platform.set_callback_mode("out_of_order")

    records = platform.pay(payment.provider_reference)

    assert [(r.status, r.answer_status) for r in records] == [("00", 200), ("01", 200)]
    assert _state(payment)[0] == "paid"


def _captured_callback(platform, payment, receiver) -> bytes:  # noqa: F811
    """A genuine callback of the platform, caught on its way instead of delivered."""
    platform.transactions[payment.provider_reference].notify_url = receiver.url
    [record] = platform.pay(payment.provider_reference)
    assert record.answer_status == 200 and _state(payment)[0] == "pending"
    [(_path, _headers, body)] = receiver.received
    return body


def test_a_forged_callback_is_refused_and_the_genuine_one_still_counts(
    platform, fee_dossier, applicant, live_server, receiver  # noqa: F811
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    genuine = json.loads(_captured_callback(platform, payment, receiver))
    url = live_server.url + reverse(CALLBACK)

    forged = requests.post(url, json={**genuine, CHECKSUM_FIELD: "0" * 64}, timeout=5)
    tampered = requests.post(url, json={**genuine, "SoTien": 1}, timeout=5)

    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert (tampered.status_code, tampered.json()["code"]) == (401, "bad_signature")
    assert _state(payment)[0] == "pending"
    assert requests.post(url, json=genuine, timeout=5).status_code == 200
    assert _state(payment)[0] == "paid"


def test_a_callback_replayed_after_the_window_is_refused(
    platform, fee_dossier, applicant, api_client_for, receiver  # noqa: F811
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    old = _captured_callback(platform, payment, receiver)

    with clock.frozen_at(clock.now() + timedelta(hours=2)):
        response = api_client_for().post(reverse(CALLBACK), data=old,
                                         content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (401, "stale_request")
    assert _state(payment)[0] == "pending"


def test_a_callback_for_the_wrong_amount_is_refused_and_reconciliation_keeps_refusing(
    platform, fee_dossier, applicant
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)

    [record] = platform.pay(payment.provider_reference, amount=1_000)
    report = payment_reconcile(older_than=timedelta(0))

    assert record.answer_status == 422
    assert (report.checked, report.paid, report.errors) == (1, 0, 1)
    assert _state(payment)[0] == "pending" and paid_online() == 0


def test_a_callback_that_never_arrives_is_settled_by_reconciliation(
    platform, fee_dossier, applicant
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    platform.set_callback_mode("never")
    platform.pay(payment.provider_reference)
    assert _state(payment)[0] == "pending"

    report = payment_reconcile(older_than=timedelta(0))

    assert (report.checked, report.paid) == (1, 1)
    assert _state(payment)[:3:2] == ("paid", "query:platform")
    assert platform.queries_answered == 1
    assert paid_online() == 1


def test_the_platform_status_query_gets_our_signed_answer(
    platform, fee_dossier, applicant, live_server
):
    payment = payment_start(dossier_id=fee_dossier.pk, actor=applicant)
    url = live_server.url + reverse(STATUS)
    before = platform.query_merchant(payment.provider_reference, url)
    platform.pay(payment.provider_reference)
    after = platform.query_merchant(payment.provider_reference, url)
    assert (before[0], before[1]["TrangThai"], before[2]) == (200, "01", True)
    assert (after[0], after[1]["TrangThai"], after[2]) == (200, "00", True)
    assert after[1]["SoTien"] == payment.amount


# --- several relays at once (PostgreSQL) ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_relays_at_once_never_send_a_row_twice(wired, agency, reception, specialist):
    procedure = ProcedureFactory(agency=agency)
    dossiers = DossierFactory.create_batch(60, submitted=True, procedure=procedure)
    for dossier in dossiers:
        workflow.dossier_accept(dossier_id=dossier.pk, actor=reception)
        review.dossier_propose(dossier_id=dossier.pk, actor=specialist)
    total = OutboundMessage.objects.count()
    barrier = threading.Barrier(3)
    errors: list = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(500):
                if sync.outbox_relay(batch=7).handled:
                    continue
                if not OutboundMessage.objects.exclude(status="sent").exists():
                    return
                time.sleep(0.01)  # the rest is leased by another relay: wait for it
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors and not any(t.is_alive() for t in threads)
    sent_keys = Counter(r.idempotency_key for r in wired.received("national")
                        if r.path != "/api/auth/login")
    assert len(sent_keys) == total == 120
    assert set(sent_keys.values()) == {1}  # no row went out twice, not even as a replay
    for dossier in dossiers:
        assert delivered(wired, dossier) == expected_deliveries(dossier)


# --- a real Celery worker killed in the middle of a send (PostgreSQL + Redis) ----------

ROOT = Path(__file__).resolve().parents[2]
# The worker's lease: its sends are cut 10 % before it ends, well after the kill below.
WORKER_LEASE_SECONDS = 4


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def pool_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


@pytest.fixture
def broker_url() -> str:
    url = os.environ.get("CELERY_TEST_BROKER_URL", "")
    if not url:
        pytest.skip("needs a Redis broker in CELERY_TEST_BROKER_URL; .ci/run starts one")
    return url


@pytest.fixture
def worker(broker_url, wired, transactional_db, monkeypatch, tmp_path):
    """A real prefork worker on the test database; this process sends its tasks via Redis."""
    import redis
    from celery import Celery

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        **{k: ",".join(v) if isinstance(v, list) else str(v)
           for k, v in portal_settings(wired).items()},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url, "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_LEASE_SECONDS": str(WORKER_LEASE_SECONDS),
        # Longer than the stall below: the worker is still waiting for the answer when killed.
        "INTEGRATIONS_READ_TIMEOUT": "20", "DJANGO_LOG_LEVEL": "WARNING",
    }
    redis.Redis.from_url(broker_url).flushdb()
    log = tmp_path / "worker.log"
    name = f"kill-test-{os.getpid()}@localhost"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO", "-n", name],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    sender = Celery(broker=broker_url, set_as_current=False)
    # The relay the services queue on commit goes through the broker to that worker.
    import portal.effects

    local_queue = portal.effects.task_queue

    def queue(name: str, *args) -> bool:
        if name == "dossiers.tasks.relay_outbox":
            sender.send_task(name, args=args)
            return True
        return local_queue(name, *args)

    monkeypatch.setattr(portal.effects, "task_queue", queue)
    try:
        wait_for(lambda: process.poll() is not None
                 or bool(sender.control.ping(destination=[name], timeout=0.5)),
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
        sender.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_send_still_delivers_the_message_once(
    worker, wired, agency, reception
):
    process, log = worker
    first, second = DossierFactory.create_batch(
        2, submitted=True, procedure=ProcedureFactory(agency=agency))
    workflow.dossier_accept(dossier_id=first.pk, actor=reception)
    wait_for(lambda: OutboundMessage.objects.filter(dossier=first, status="sent").exists(),
             timeout=30, what="the worker to deliver a first message")
    # The next push is processed by the portal, which then stays silent for 8 s.
    wired.configure_faults("national", timeout_seconds=8)
    wired.fail_next("national", TIMEOUT)

    workflow.dossier_accept(dossier_id=second.pk, actor=reception)
    message = OutboundMessage.objects.get(dossier=second)
    wait_for(lambda: any(r.idempotency_key == message.idempotency_key
                         for r in wired.received("national")),
             timeout=30, what="the push to reach the portal")
    [child] = pool_children(process.pid)
    os.kill(child, signal.SIGKILL)  # in the middle of the send: the row stays leased

    # The requeued task finds the row still leased; once the lease runs out, the next relay
    # run (the beat's, every minute) takes it over.
    time.sleep(WORKER_LEASE_SECONDS + 0.5)
    import portal.effects

    portal.effects.task_queue("dossiers.tasks.relay_outbox")
    wait_for(lambda: OutboundMessage.objects.get(pk=message.pk).status == "sent",
             timeout=60, what="the next relay run to send the message")
    tries = [(r.fault, r.replayed) for r in wired.received("national")
             if r.idempotency_key == message.idempotency_key]
    assert tries == [(TIMEOUT, False), ("", True)]  # resent once, answered from memory
    assert delivered(wired, second) == expected_deliveries(second)
    assert wired.portals["national"].delivery_count() == 2
    assert "WorkerLostError" in log.read_text()  # acks_late + reject_on_worker_lost requeued it
    assert process.poll() is None

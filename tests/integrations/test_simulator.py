"""The simulator itself: control endpoint, guards, the management command."""

import io
import socket
import threading
import time

from django.core.management import call_command

import pytest
import requests

from integrations.simulator import Simulator
from integrations.simulator.common import require_loopback

from .builders import bill, snapshot


def control(simulator, **body):
    return requests.post(f"{simulator.url}/_control", json=body, timeout=2)


def test_faults_can_be_set_through_the_control_endpoint(national, simulator):
    assert control(simulator, action="faults", system="national", down=True).json() == {"ok": True}
    response = requests.post(simulator.url_for("national") + "/api/auth/login", timeout=2,
                             json={"username": "nat-user", "password": "nat-pass"})
    assert response.status_code == 503

    control(simulator, action="faults", system="national", down=False)
    control(simulator, action="fail_next", system="national", kind="error", count=2)
    statuses = [requests.post(simulator.url_for("national") + "/api/auth/login", timeout=2,
                              json={"username": "nat-user", "password": "nat-pass"}).status_code
                for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_the_state_endpoint_reports_deliveries_per_dossier(national, simulator):
    national.push_dossier(snapshot("S-1"), idempotency_key="k")
    control(simulator, action="expire_tokens", system="national")
    national.push_dossier(snapshot("S-2"), idempotency_key="k2")

    state = requests.get(f"{simulator.url}/_control/state", timeout=2).json()

    assert state["national"]["logins"] == 2 and state["national"]["deliveries"] == 2
    assert state["national"]["dossiers"]["S-1"][0]["status_code"] == "2"
    assert state["provincial"]["deliveries"] == 0


def test_bad_control_requests_are_refused(simulator):
    assert control(simulator, action="faults", system="national", error_rate=2).status_code == 400
    assert control(simulator, action="fail_next", system="national", kind="fire").status_code == 400
    assert control(simulator, action="nonsense").status_code == 400


def test_writes_need_an_idempotency_key(simulator):
    response = requests.post(simulator.url_for("payment") + "/api/giaodich", json={}, timeout=2)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"


def test_unknown_paths_and_systems_are_404(simulator):
    assert requests.get(f"{simulator.url}/district/api", timeout=2).status_code == 404


def test_the_pay_page_pays_and_calls_back(platform, simulator, receiver):
    simulator.payment.callback_url = receiver.url + "/cb"
    intent = platform.create_transaction(bill(), idempotency_key="b")

    response = requests.post(intent.redirect_url, timeout=2, allow_redirects=False)

    assert response.status_code == 303
    assert response.headers["Location"] == "http://127.0.0.1:8000/ho-so/1/"
    assert len(receiver.received) == 1
    assert simulator.payment.transactions[intent.reference].status == "00"


def test_the_simulator_only_calls_loopback_addresses():
    assert require_loopback("http://127.0.0.1:8000/cb")
    assert require_loopback("http://localhost:8000/cb")
    for url in ("http://10.0.0.1/cb", "https://example.com/cb", "http://[::2]/"):
        with pytest.raises(ValueError):
            require_loopback(url)
    with pytest.raises(ValueError):
        Simulator(callback_url="http://192.168.1.2/cb")


def test_reset_forgets_everything(national, simulator):
    national.push_dossier(snapshot("R-1"), idempotency_key="k")
    simulator.reset()
    assert simulator.received() == [] and simulator.deliveries("national", "R-1") == []


def test_run_simulator_command_serves_until_its_duration_ends(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = io.StringIO()
    thread = threading.Thread(
        target=call_command, args=["run_simulator", "--port", str(port), "--duration", "1.5"],
        kwargs={"stdout": out},
    )
    thread.start()
    try:
        answer = None
        for _ in range(50):
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/_control/state", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["national"]["deliveries"] == 0
    finally:
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert f"national: http://127.0.0.1:{port}/national" in out.getvalue()
    assert "Simulator stopped." in out.getvalue()


def test_a_dripped_or_garbled_answer_and_a_408_can_be_asked_for(simulator):
    login = simulator.url_for("national") + "/api/auth/login"
    credentials = {"username": "nat-user", "password": "nat-pass"}
    assert control(simulator, action="faults", system="national", drip_seconds=0.01,
                   error_status=408).json() == {"ok": True}
    control(simulator, action="fail_next", system="national", kind="garbled")
    control(simulator, action="fail_next", system="national", kind="drip")
    control(simulator, action="fail_next", system="national", kind="error")

    garbled = requests.post(login, json=credentials, timeout=2)
    dripped = requests.post(login, json=credentials, timeout=2)
    refused = requests.post(login, json=credentials, timeout=2)

    assert (garbled.status_code, garbled.text) == (200, "<html>502 Bad Gateway</html>")
    assert dripped.status_code == 200 and dripped.json()["token_type"] == "Bearer"
    assert refused.status_code == 408
    assert [r.fault for r in simulator.received("national")] == ["garbled", "drip", "error"]


@pytest.mark.parametrize("setting", [{"error_status": 404}, {"drip_seconds": 0}])
def test_faults_that_would_not_be_faults_are_refused(simulator, setting):
    response = control(simulator, action="faults", system="national", **setting)
    assert response.status_code == 400
    assert simulator.faults["national"].settings.error_status == 503  # nothing half-applied
    assert simulator.faults["national"].settings.drip_seconds == 0.1

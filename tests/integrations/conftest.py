"""The simulator on a free loopback port, a receiver for its callbacks, adapters wired to it."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.adapters.national import NationalPortalAdapter
from integrations.adapters.provincial import ProvincialPortalAdapter
from integrations.base import BeneficiaryAccount
from integrations.http import PaymentConfig, PortalConfig
from integrations.payment_providers.platform import PlatformPaymentProvider
from integrations.simulator import Simulator

NATIONAL_CREDENTIALS = ("nat-user", "nat-pass")
PROVINCIAL_CREDENTIALS = ("prov-user", "prov-pass")
MERCHANT_ID, PAYMENT_SECRET = "M001", "pay-secret"
INBOUND_SECRET = "inbound-secret"
# The client gives up after READ_TIMEOUT; the simulator's "timeout" fault sleeps longer.
READ_TIMEOUT, SIMULATED_STALL = 0.3, 0.6
BENEFICIARY = BeneficiaryAccount("0011223344", "VCB", "SO CONG THUONG")


@pytest.fixture
def simulator():
    sim = Simulator(
        national_credentials=NATIONAL_CREDENTIALS, provincial_credentials=PROVINCIAL_CREDENTIALS,
        merchants={MERCHANT_ID: PAYMENT_SECRET}, inbound_secret=INBOUND_SECRET,
    )
    sim.start()
    for system in sim.faults:
        sim.configure_faults(system, timeout_seconds=SIMULATED_STALL)
    try:
        yield sim
    finally:
        sim.stop()


@dataclass
class Receiver:
    """A loopback endpoint that records what it is sent and answers with `respond`."""

    url: str
    received: list[tuple[str, dict, bytes]] = field(default_factory=list)
    respond: Callable[[str, dict, bytes], tuple[int, bytes]] = (
        lambda path, headers, body: (200, b'{"ok": true}')
    )

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.received]


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            target = state["receiver"]
            target.received.append((self.path, headers, body))
            status, answer = target.respond(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def portal_config(simulator: Simulator, system: str, **overrides) -> PortalConfig:
    username, password = NATIONAL_CREDENTIALS if system == "national" else PROVINCIAL_CREDENTIALS
    values = {
        "system": system, "base_url": simulator.url_for(system), "username": username,
        "password": password, "timeouts": (1.0, READ_TIMEOUT), "token_skew": 0.0,
    }
    return PortalConfig(**{**values, **overrides})


@pytest.fixture
def national(db, simulator) -> NationalPortalAdapter:
    return NationalPortalAdapter(portal_config(simulator, "national"))


@pytest.fixture
def provincial(db, simulator) -> ProvincialPortalAdapter:
    return ProvincialPortalAdapter(portal_config(simulator, "provincial"))


@pytest.fixture
def platform(simulator) -> PlatformPaymentProvider:
    return PlatformPaymentProvider(PaymentConfig(
        base_url=simulator.url_for("payment"), merchant_id=MERCHANT_ID, secret=PAYMENT_SECRET,
        beneficiary=BENEFICIARY, timeouts=(1.0, READ_TIMEOUT), callback_window=600,
    ))

"""The simulator's HTTP server: routing, idempotency, fault injection and the control API.

Paths: /national/..., /provincial/... (the portal protocol), /payment/... (the payment
platform), /idp/... (the electronic identity provider, OpenID Connect), /_control (POST an action as JSON) and /_control/state (GET what was received).
"""

import contextlib
import hashlib
import logging
import socket
import threading
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ..wire import IDEMPOTENCY_HEADER
from .common import Reply, Request, error
from .faults import DRIP, DROP, ERROR, GARBLED, TIMEOUT, FaultPlan
from .idp import DEMO_IDENTITIES, Identity, OidcClient, SimulatedIdentityProvider
from .payment import SimulatedPaymentPlatform
from .portal import SimulatedPortal

logger = logging.getLogger(__name__)
MAX_BODY = 5 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One request as it arrived, replays and failures included."""

    system: str
    method: str
    path: str
    idempotency_key: str
    fault: str  # "" | error | timeout | drop | drip | garbled
    replayed: bool
    status: int


@dataclass
class _Stored:
    fingerprint: str
    reply: Reply


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes; without this, Nagle plus delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.simulator._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.simulator._track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's naming)
        self.server.simulator._dispatch(self)

    def do_POST(self) -> None:  # noqa: N802
        self.server.simulator._dispatch(self)

    def log_message(self, format, *args) -> None:  # noqa: A002
        logger.debug("simulator: " + format, *args)

    def write(self, reply: Reply, *, drip: float = 0.0) -> None:
        """Send the reply; with `drip`, one byte every `drip` seconds, status line included."""
        payload = reply.encoded()
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(payload)),
                   **reply.headers}
        try:
            if drip:
                self._drip(reply.status, headers, payload, drip)
                return
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            # The client gave up (its timeout) before the answer came: nothing to do.
            self.close_connection = True

    def _drip(self, status: int, headers: dict, payload: bytes, interval: float) -> None:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        stopping = self.server.simulator._stopping
        for i in range(len(raw)):
            if stopping.wait(interval):
                self.close_connection = True
                return
            self.wfile.write(raw[i:i + 1])
            self.wfile.flush()


class Simulator:
    """National portal, provincial portal and payment platform on one loopback port."""

    def __init__(
        self, *, port: int = 0, national_credentials: tuple[str, str] = ("motcua", "motcua"),
        provincial_credentials: tuple[str, str] = ("motcua", "motcua"),
        merchants: dict[str, str] | None = None, callback_url: str = "",
        inbound_secret: str = "", token_ttl: float = 300.0,
        oidc_clients: dict[str, OidcClient] | None = None,
        identities: tuple[Identity, ...] = DEMO_IDENTITIES,
    ) -> None:
        self.port = port
        self.inbound_secret = inbound_secret
        self.portals = {
            "national": SimulatedPortal("national", username=national_credentials[0],
                                        password=national_credentials[1], token_ttl=token_ttl),
            "provincial": SimulatedPortal("provincial", username=provincial_credentials[0],
                                          password=provincial_credentials[1], token_ttl=token_ttl),
        }
        self.payment = SimulatedPaymentPlatform(
            merchants=merchants or {"MOTCUA": "motcua-payment-secret"}, callback_url=callback_url
        )
        self.idp = SimulatedIdentityProvider(clients=oidc_clients, identities=identities)
        self.faults = {name: FaultPlan(seed=i) for i, name in
                       enumerate(("national", "provincial", "payment", "idp"))}
        self._received: list[Received] = []
        self._stored: dict[tuple[str, str], _Stored] = {}
        self._write_locks = {name: threading.Lock() for name in self.faults}
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> "Simulator":
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.simulator = self
        self.port = self._server.server_address[1]
        self.payment.base_url = self.url_for("payment")
        self.idp.base_url = self.url_for("idp")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"simulator-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, system: str) -> str:
        """The base URL to configure an adapter with (NATIONAL_PORTAL_URL and so on)."""
        return f"{self.url}/{system}"

    # --- Python control API --------------------------------------------------------------------

    def configure_faults(self, system: str, **settings) -> None:
        """error_rate, timeout_rate, drop_rate, error_status, timeout_seconds, drip_seconds,
        down, seed."""
        self.faults[system].configure(**settings)

    def fail_next(self, system: str, kind: str, count: int = 1) -> None:
        self.faults[system].fail_next(kind, count)

    def set_down(self, system: str, down: bool = True) -> None:
        self.faults[system].configure(down=down)

    def expire_tokens(self, system: str) -> None:
        self.portals[system].expire_tokens()

    def reset(self) -> None:
        for plan in self.faults.values():
            plan.reset()
        for portal in self.portals.values():
            portal.reset()
        self.payment.reset()
        self.idp.reset()
        with self._lock:
            self._received.clear()
            self._stored.clear()

    def received(self, system: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if system is None or r.system == system]

    def deliveries(self, system: str, code: str):
        return self.portals[system].deliveries(code)

    def state(self) -> dict:
        """A summary for the control endpoint and for people watching the demo."""
        out = {}
        for name, portal in self.portals.items():
            out[name] = {
                "logins": portal.logins, "deliveries": portal.delivery_count(),
                "dossiers": {code: [asdict(d) | {"payload": None} for d in portal.deliveries(code)]
                             for code in portal.dossier_codes()},
            }
        out["payment"] = {
            "transactions": len(self.payment.transactions),
            "callbacks": [asdict(c) for c in self.payment.callbacks],
            "queries_answered": self.payment.queries_answered,
        }
        out["idp"] = {"codes_issued": self.idp.stats.codes_issued,
                      "tokens_issued": self.idp.stats.tokens_issued,
                      "refused": list(self.idp.stats.refused)}
        out["received"] = len(self.received())
        return out

    # --- HTTP ----------------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            handler.close_connection = True
            handler.write(error(413, "too_large"))
            return
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        system, _, rest = parts.path.lstrip("/").partition("/")
        request = Request(handler.command, "/" + rest, dict(parse_qsl(parts.query)), headers, body)
        if system == "_control":
            handler.write(self._control(request))
            return
        target = (self.portals.get(system) or (self.payment if system == "payment" else None)
                  or (self.idp if system == "idp" else None))
        if target is None:
            handler.write(error(404, "unknown_system"))
            return
        fault = self.faults[system].draw() or ""
        replayed = False
        if fault == ERROR:
            status = self.faults[system].settings.error_status
            reply = error(status, "unavailable", "Hệ thống đang bận, vui lòng thử lại sau.")
        else:
            reply, replayed = self._answer(system, target, request)
        if fault == GARBLED:
            reply = Reply(200, b"<html>502 Bad Gateway</html>", content_type="text/html")
        with self._lock:
            self._received.append(Received(
                system, request.method, request.path, request.header(IDEMPOTENCY_HEADER),
                fault, replayed, reply.status,
            ))
        if fault == TIMEOUT:
            # Processed; now stay silent past the client's read timeout.
            self._stopping.wait(self.faults[system].settings.timeout_seconds)
        if fault == DROP:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.write(reply, drip=self.faults[system].settings.drip_seconds if fault == DRIP else 0)

    def _answer(self, system: str, target, request: Request) -> tuple[Reply, bool]:
        """Run the request once per idempotency key; a repeat gets the first answer back."""
        if not target.is_write(request):
            return target.handle(request), False
        key = request.header(IDEMPOTENCY_HEADER)
        if not key:
            return error(400, "idempotency_key_missing"), False
        fingerprint = hashlib.sha256(
            request.method.encode() + request.path.encode() + b"\n" + request.body
        ).hexdigest()
        with self._write_locks[system]:
            stored = self._stored.get((system, key))
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return error(422, "idempotency_key_reused"), False
                return stored.reply.replayed(), True
            reply = target.handle(request)
            # A refused login or token was not processed; anything else is the answer for good.
            if reply.status not in (401, 429) and reply.status < 500:
                self._stored[(system, key)] = _Stored(fingerprint, reply)
            return reply, False

    def _control(self, request: Request) -> Reply:
        if request.method == "GET" and request.path in ("/", "/state"):
            return Reply(200, self.state())
        body = request.json()
        if request.method != "POST" or not isinstance(body, dict):
            return error(400, "bad_control_request")
        action, system = body.pop("action", ""), body.pop("system", "")
        try:
            if action == "faults":
                self.configure_faults(system, **body)
            elif action == "fail_next":
                self.fail_next(system, body["kind"], int(body.get("count", 1)))
            elif action == "expire_tokens":
                self.expire_tokens(system)
            elif action == "reset":
                self.reset()
            elif action == "callback_mode":
                self.payment.set_callback_mode(body["mode"])
            elif action == "pay":
                records = self.payment.pay(body["reference"], status=body.get("status", "00"),
                                           amount=body.get("amount"))
                return Reply(200, {"callbacks": [asdict(r) for r in records]})
            elif action == "send_inbound":
                status, text = self.portals[system].send_inbound_dossier(
                    body["url"], secret=self.inbound_secret, payload=body.get("payload")
                )
                return Reply(200, {"status": status, "answer": text})
            else:
                return error(400, "unknown_action")
        except (KeyError, ValueError, TypeError) as exc:
            return error(400, "bad_control_request", str(exc))
        return Reply(200, {"ok": True})

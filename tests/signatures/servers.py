"""Small HTTP servers on 127.0.0.1 for the tests: a remote signing service, a TSA, a CRL host."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils


@contextmanager
def serve(handler_cls):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def remote_signing_handler(issued, token: str):
    """Holds the key; signs a digest computed by the client (hash here, signature there)."""

    class Handler(_Quiet):
        def _authorised(self) -> bool:
            self.server.hits.append(self.path)
            return self.headers.get("Authorization") == f"Bearer {token}"

        def do_GET(self):
            if not self._authorised():
                return self._send(401, b"{}", "application/json")
            body = {"certificate": issued.pem.decode(),
                    "chain": [c.public_bytes(encoding=_pem()).decode() for c in issued.chain]}
            self._send(200, json.dumps(body).encode(), "application/json")

        def do_POST(self):
            if not self._authorised():
                return self._send(401, b"{}", "application/json")
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert request["hash_algorithm"] == "sha256"
            digest = base64.b64decode(request["digest"])
            signature = issued.key.sign(digest, padding.PKCS1v15(),
                                        utils.Prehashed(hashes.SHA256()))
            self._send(200, json.dumps({"signature": base64.b64encode(signature).decode()})
                       .encode(), "application/json")

    return Handler


def _pem():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def tsa_handler(timestamper):
    """RFC 3161 over HTTP, answered by pyHanko's dummy timestamper."""

    class Handler(_Quiet):
        def do_POST(self):
            self.server.hits.append(self.path)
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            response = asyncio.run(timestamper.async_request_tsa_response(request))
            self._send(200, response.dump(), "application/timestamp-reply")

    return Handler


def static_handler(files: dict[str, bytes]):
    class Handler(_Quiet):
        def do_GET(self):
            self.server.hits.append(self.path)
            if self.path in files:
                return self._send(200, files[self.path], "application/pkix-crl")
            self._send(404, b"", "text/plain")

    return Handler

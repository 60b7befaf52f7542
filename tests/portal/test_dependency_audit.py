"""The dependency audit gate (.ci/dependency_audit.py): it fails on a known vulnerability, and
when the vulnerability database is out of reach it says the audit was skipped and why.

The database here is a small OSV server on loopback; no test leaves the machine."""

import importlib.util
import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "dependency_audit.py"
# A published advisory about the pin below (the data the fake database answers with).
ADVISORY = {
    "id": "PYSEC-2023-100", "aliases": ["CVE-2023-31047"],
    "summary": "Potential bypass of validation when uploading multiple files",
    "affected": [{
        "package": {"name": "django", "ecosystem": "PyPI"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "4.2"}, {"fixed": "4.2.2"}]}],
    }],
}


def _load_script():
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def osv():
    """An OSV API on loopback: django 4.2 has the advisory, everything else is clean."""
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append((query["package"]["name"], query["version"]))
            vulnerable = query["package"]["name"] == "django" and query["version"] == "4.2"
            body = json.dumps({"vulns": [ADVISORY]} if vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", asked
    server.shutdown()
    server.server_close()


def _audit(*arguments: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, str(SCRIPT), *arguments], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)


def _requirements(tmp_path, *pins: str) -> str:
    path = tmp_path / "requirements.txt"
    path.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
    return str(path)


def test_a_known_vulnerability_fails_the_audit_and_is_named(osv, tmp_path):
    url, asked = osv
    done = _audit("--osv-url", url, "-r", _requirements(tmp_path, "django==4.2", "qrcode==8.2"))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout
    assert "django 4.2: PYSEC-2023-100" in done.stdout and "4.2.2" in done.stdout
    assert ("django", "4.2") in asked and ("qrcode", "8.2") in asked


def test_clean_pins_pass_and_say_how_many_were_checked(osv, tmp_path):
    url, _asked = osv
    done = _audit("--osv-url", url, "-r", _requirements(tmp_path, "django==5.2.19", "qrcode==8.2"))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed: 2 packages checked" in done.stdout


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_database_is_reported_as_skipped_not_passed(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1/query"
    done = _audit("--osv-url", url, "--timeout", "3", "-r", _requirements(tmp_path, "django==4.2"))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED" in done.stdout and "cannot be reached" in done.stdout
    assert "Connection refused" in done.stdout or "Failed to establish" in done.stdout
    assert "passed" not in done.stdout


def test_pypi_behind_a_proxy_that_refuses_is_reported_as_skipped(tmp_path):
    """The default database (PyPI's JSON API) through an HTTPS proxy that is not there."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    done = _audit("--timeout", "3", "-r", _requirements(tmp_path, "django==4.2"),
                  HTTPS_PROXY=proxy, https_proxy=proxy, NO_PROXY="", no_proxy="")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED" in done.stdout and "ProxyError" in done.stdout


def test_a_database_that_knows_no_package_is_skipped_not_passed():
    """A mirror serving only the simple index answers 404 on PyPI's JSON API: pip-audit then
    skips every package and would pass; the gate says what happened instead."""
    report = {"dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be "
                                          "audited: django (5.2.19)"},
        {"name": "qrcode", "skip_reason": "Dependency not found on PyPI and could not be "
                                          "audited: qrcode (8.2)"},
    ], "fixes": []}

    code, message = _load_script().verdict(0, report, "")

    assert code == 0
    assert message.startswith("dependency audit SKIPPED: the vulnerability database cannot be "
                              "reached")
    assert "2 of 2 skipped" in message


def test_some_packages_not_checked_are_named_beside_the_pass():
    report = {"dependencies": [
        {"name": "django", "version": "5.2.19", "vulns": []},
        {"name": "private-lib", "skip_reason": "Dependency not found on PyPI and could not be "
                                               "audited: private-lib (1.0)"},
    ]}

    code, message = _load_script().verdict(0, report, "")

    assert code == 0
    assert "1 packages checked" in message and "Not checked: private-lib" in message


def test_a_failure_that_is_not_the_network_fails(osv, tmp_path):
    url, _asked = osv
    done = _audit("--osv-url", url, "-r", str(tmp_path / "missing.txt"))

    assert done.returncode != 0
    assert "FAILED" in done.stdout and "SKIPPED" not in done.stdout

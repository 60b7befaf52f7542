"""Requests and replies as the simulated systems see them, and the loopback-only sender."""

import json
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

import requests

from ..wire import REPLAYED_HEADER


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # inside the system, e.g. /api/hoso
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict | bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode()

    def replayed(self) -> "Reply":
        return Reply(self.status, self.body, {**self.headers, REPLAYED_HEADER: "true"},
                     self.content_type)


def error(status: int, code: str, message: str = "", **extra) -> Reply:
    return Reply(status, {"code": code, "message": message or code, **extra})


def require_loopback(url: str) -> str:
    """The simulator only ever calls back to this machine."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return url
    try:
        if ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise ValueError(f"the simulator only calls loopback addresses, not {url!r}")


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float = 5.0):
    """POST to a loopback URL; returns (status, text) or (0, error) when nothing answered."""
    require_loopback(url)
    with requests.Session() as session:
        session.trust_env = False
        try:
            response = session.post(
                url, data=body, timeout=(timeout, timeout),
                headers={"Content-Type": "application/json", **headers},
            )
        except requests.RequestException as exc:
            return 0, str(exc)
    return response.status_code, response.text

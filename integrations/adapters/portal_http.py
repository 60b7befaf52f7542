"""The portal protocol over HTTP: session-token login, pushes, lookup, catalog."""

import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

from django.utils.translation import gettext as _

import requests

from ..base import (
    CatalogEntry,
    DossierSnapshot,
    InboundDossier,
    PortalReceipt,
    ProgressUpdate,
    RemoteDossier,
)
from ..exceptions import BadResponse, PortalAuthFailed, PortalRejected, TokenExpired
from ..http import PortalConfig, build_session, raise_for_status, response_json, send
from ..scores import PublishedScorecard, scorecard_from
from ..selectors import DatabaseCodeBook
from ..wire import REPLAYED_HEADER
from . import portal_wire
from .portal_wire import CodeBook


class HttpPortalAdapter:
    """Shared by the national and provincial adapters; subclasses set the identifiers and paths."""

    identifier = ""
    system = ""
    login_path = "/api/auth/login"
    dossier_path = "/api/hoso"
    progress_path = "/api/hoso/{code}/tiendo"
    lookup_path = "/api/hoso/{code}"
    catalog_path = "/api/tthc"
    scores_path = "/api/chiso/{agency}"
    catalog_page_size = 100
    catalog_max_pages = 500

    def __init__(
        self,
        config: PortalConfig,
        *,
        session: requests.Session | None = None,
        codes: CodeBook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.session = session or build_session()
        self.codes = codes or DatabaseCodeBook(self.system)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_valid_until = 0.0
        self.logins = 0  # how many times we logged in; visible for monitoring and tests

    # --- session token ---------------------------------------------------------------------

    def login(self) -> str:
        """Log in and cache the session token until shortly before it expires."""
        response = send(
            self.session, "POST", self.config.base_url + self.login_path,
            timeouts=self.config.timeouts, idempotency_key=str(uuid.uuid4()),
            json={"username": self.config.username, "password": self.config.password},
        )
        try:
            raise_for_status(response)
        except PortalRejected as exc:
            # A refused login (a locked account, a 400 or 422 on the credentials) is about us,
            # never about the message waiting to go: retried and alerted, never final.
            raise PortalAuthFailed(status=exc.status, extra=exc.extra) from exc
        body = response_json(response)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise BadResponse(_("Phản hồi đăng nhập không hợp lệ."))
        self._token = token
        self._token_valid_until = self._clock() + max(0.0, expires_in - self.config.token_skew)
        self.logins += 1
        return token

    def _current_token(self) -> str:
        with self._lock:
            if self._token is not None and self._clock() < self._token_valid_until:
                return self._token
            return self.login()

    def _forget_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _call(
        self, method: str, path: str, *, idempotency_key: str, json=None, params=None,
        allow_not_found: bool = False,
    ) -> requests.Response:
        """Send with the session token; on 401 log in again once and resend with the same key."""
        for attempt in range(2):
            token = self._current_token()
            response = send(
                self.session, method, self.config.base_url + path,
                timeouts=self.config.timeouts, idempotency_key=idempotency_key,
                json=json, params=params, headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401:
                self._forget_token(token)
                if attempt == 0:
                    continue
                raise TokenExpired()
            if allow_not_found and response.status_code == 404:
                return response
            raise_for_status(response)
            return response
        raise TokenExpired()  # pragma: no cover - the loop returns or raises

    # --- operations ------------------------------------------------------------------------

    def push_dossier(self, dossier: DossierSnapshot, *, idempotency_key: str) -> PortalReceipt:
        """Send a dossier when it is received (or resend it whole)."""
        payload = portal_wire.dossier_payload(dossier, self.codes)
        response = self._call(
            "POST", self.dossier_path, idempotency_key=idempotency_key, json=payload
        )
        return portal_wire.receipt_from(
            self.system, dossier.code, response_json(response),
            replayed=response.headers.get(REPLAYED_HEADER) == "true",
        )

    def push_progress(self, update: ProgressUpdate, *, idempotency_key: str) -> PortalReceipt:
        """Send one state change of a dossier already pushed."""
        payload = portal_wire.progress_payload(update, self.codes)
        path = self.progress_path.format(code=quote(update.dossier_code, safe=""))
        response = self._call("POST", path, idempotency_key=idempotency_key, json=payload)
        return portal_wire.receipt_from(
            self.system, update.dossier_code, response_json(response),
            replayed=response.headers.get(REPLAYED_HEADER) == "true",
        )

    def lookup_dossier(
        self, code: str, *, idempotency_key: str | None = None
    ) -> RemoteDossier | None:
        """The dossier as the remote portal holds it, or None when it has never heard of it."""
        response = self._call(
            "GET", self.lookup_path.format(code=quote(code, safe="")),
            idempotency_key=idempotency_key or str(uuid.uuid4()), allow_not_found=True,
        )
        if response.status_code == 404:
            return None
        return portal_wire.remote_dossier_from(self.system, response_json(response))

    def pull_catalog(self, *, idempotency_key: str | None = None) -> tuple[CatalogEntry, ...]:
        """Every procedure of the remote catalog, page by page (bounded)."""
        key = idempotency_key or str(uuid.uuid4())
        entries: list[CatalogEntry] = []
        page: int | None = 1
        for _page in range(self.catalog_max_pages):
            response = self._call(
                "GET", self.catalog_path, idempotency_key=f"{key}:{page}",
                params={"trang": page, "soBanGhi": self.catalog_page_size},
            )
            body = response_json(response)
            items = body.get("DanhSach")
            if not isinstance(items, list):
                raise BadResponse(extra={"field": "DanhSach"})
            entries.extend(portal_wire.catalog_entry_from(item, self.codes) for item in items)
            page = body.get("TrangTiepTheo")
            if page is None:
                return tuple(entries)
            if not isinstance(page, int):
                raise BadResponse(extra={"field": "TrangTiepTheo"})
        raise BadResponse(
            _("Danh mục có quá nhiều trang."), extra={"pages": self.catalog_max_pages}
        )

    def pull_scorecard(
        self, agency_code: str, date_from, date_to, *, idempotency_key: str | None = None
    ) -> PublishedScorecard:
        """The service-quality scores the portal published for an agency and period."""
        response = self._call(
            "GET", self.scores_path.format(agency=quote(agency_code, safe="")),
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            params={"tuNgay": date_from.isoformat(), "denNgay": date_to.isoformat()},
        )
        return scorecard_from(self.system, response_json(response))

    def parse_inbound_dossier(self, body: bytes) -> InboundDossier:
        """Read a dossier the remote portal sends us (authenticate it first: `inbound.py`)."""
        return portal_wire.inbound_from(self.system, body, self.codes)

"""A simulated national electronic identity provider (OpenID Connect, authorization code + PKCE).

Paths under /idp: /.well-known/openid-configuration, /authorize (a page listing the demo
identities; the pick comes back as a POST), /token, /jwks, /userinfo, /idp.css.

The id_token is signed RS256 with a key generated when the simulator starts (never stored).
Claims (also returned by /userinfo, whose `sub` equals the id_token's):
  identity_type      "citizen" (a person) or "organization" (a person acting for one)
  citizen_id, name   the person who signed in: 12-digit CCCD and full name (always present)
  tax_code           the organisation's tax code (organization only)
  organization_name  the organisation's registered name (organization only)
"""

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .common import Reply, Request, error, require_loopback

CODE_TTL = 60.0  # seconds an authorization code stays valid
ACCESS_TOKEN_TTL = 300.0
ID_TOKEN_TTL = 300


@dataclass(frozen=True)
class Identity:
    key: str  # what the pick page posts back
    sub: str
    citizen_id: str
    name: str
    tax_code: str = ""
    organization_name: str = ""

    @property
    def is_organization(self) -> bool:
        return bool(self.tax_code)

    def claims(self) -> dict:
        out = {"sub": self.sub, "citizen_id": self.citizen_id, "name": self.name,
               "identity_type": "organization" if self.is_organization else "citizen"}
        if self.is_organization:
            out |= {"tax_code": self.tax_code, "organization_name": self.organization_name}
        return out


# congdan and doanhnghiep of dossiers/services/demo.py carry the first two numbers.
DEMO_IDENTITIES = (
    Identity("an", "vneid-0001", "045090001234", "Nguyễn Văn An"),
    Identity("dongha", "vneid-0002", "045185006789", "Trần Thị Hoa", "3200123456",
             "Công ty TNHH Thương mại Đông Hà"),
    Identity("mai", "vneid-0003", "045195004321", "Lê Thị Mai"),
    Identity("cokhi", "vneid-0004", "045088007777", "Phạm Văn Nam", "3200987654",
             "Công ty CP Cơ khí Quảng Trị"),
)


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    secret: str
    # None: any loopback address (the demo's portal port changes from run to run).
    redirect_uris: tuple[str, ...] | None = None

    def allows(self, redirect_uri: str) -> bool:
        if self.redirect_uris is not None:
            return redirect_uri in self.redirect_uris
        try:
            require_loopback(redirect_uri)
        except ValueError:
            return False
        return urlsplit(redirect_uri).scheme in ("http", "https")


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    identity: Identity
    expires: float


@dataclass
class _Access:
    identity: Identity
    expires: float


@dataclass
class IdpStats:
    codes_issued: int = 0
    tokens_issued: int = 0
    refused: list[str] = field(default_factory=list)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SimulatedIdentityProvider:
    def __init__(self, *, clients: dict[str, OidcClient] | None = None,
                 identities: tuple[Identity, ...] = DEMO_IDENTITIES) -> None:
        self.clients = dict(clients or {"motcua": OidcClient("motcua", "motcua-oidc-secret")})
        self.identities = {identity.key: identity for identity in identities}
        self.base_url = ""  # set by the server once it knows its port
        self.code_ttl = CODE_TTL
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._grants: dict[str, _Grant] = {}
            self._access: dict[str, _Access] = {}
            self.stats = IdpStats()

    def is_write(self, request: Request) -> bool:
        return False  # no idempotency keys here: codes are single-use by themselves

    # --- routing -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path, method = request.path, request.method
        if path == "/.well-known/openid-configuration" and method == "GET":
            return Reply(200, self.discovery())
        if path == "/jwks" and method == "GET":
            return Reply(200, self.jwks())
        if path == "/authorize":
            if method == "GET":
                return self._authorize(request.query, pick=None)
            if method == "POST":
                form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
                return self._authorize(form, pick=form.get("identity", ""))
        if path == "/token" and method == "POST":
            return self._token(request)
        if path == "/userinfo" and method == "GET":
            return self._userinfo(request)
        if path == "/idp.css" and method == "GET":
            return Reply(200, PAGE_CSS.encode(), {}, "text/css; charset=utf-8")
        return error(404, "not_found")

    def discovery(self) -> dict:
        base = self.base_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "identity_type", "citizen_id", "name", "tax_code",
                                 "organization_name"],
        }

    def jwks(self) -> dict:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [jwk | {"kid": self._kid, "alg": "RS256", "use": "sig"}]}

    # --- authorize -----------------------------------------------------------------------------

    def _authorize(self, params: dict, *, pick: str | None) -> Reply:
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or not client.allows(redirect_uri):
            # Never redirect to an address the client did not register.
            return _page(400, "Yêu cầu không hợp lệ",
                         "<p>Ứng dụng yêu cầu đăng nhập không được đăng ký với hệ thống định "
                         "danh (mã ứng dụng hoặc địa chỉ trả về không đúng).</p>")
        state = params.get("state", "")

        def back(**answer) -> Reply:
            answer = {**answer, **({"state": state} if state else {})}
            separator = "&" if urlsplit(redirect_uri).query else "?"
            return Reply(303, b"", {"Location": redirect_uri + separator + urlencode(answer)},
                         "text/plain")

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if "openid" not in params.get("scope", "").split():
            return back(error="invalid_scope")
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="PKCE S256 is required")
        if pick is None:
            return self._pick_page(params)
        if pick == "cancel":
            return back(error="access_denied")
        identity = self.identities.get(pick)
        if identity is None:
            return self._pick_page(params)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = _Grant(
                client.client_id, redirect_uri, params["code_challenge"],
                params.get("nonce", ""), identity, time.monotonic() + self.code_ttl,
            )
            self.stats.codes_issued += 1
        return back(code=code)

    def _pick_page(self, params: dict) -> Reply:
        keep = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                "code_challenge", "code_challenge_method")
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
            for name in keep if params.get(name)
        )
        items = []
        for identity in self.identities.values():
            if identity.is_organization:
                title = html.escape(identity.organization_name)
                detail = (f"Mã số thuế {html.escape(identity.tax_code)} · người thực hiện: "
                          f"{html.escape(identity.name)} (CCCD {html.escape(identity.citizen_id)})")
                kind = "Tổ chức, doanh nghiệp"
            else:
                title = html.escape(identity.name)
                detail = f"Số định danh cá nhân (CCCD) {html.escape(identity.citizen_id)}"
                kind = "Cá nhân"
            items.append(
                f'<li><button type="submit" name="identity" value="{html.escape(identity.key)}">'
                f'<span class="kind">{kind}</span><strong>{title}</strong>'
                f'<span class="detail">{detail}</span></button></li>'
            )
        body = (
            "<p>Đây là hệ thống định danh điện tử <strong>mô phỏng</strong> dùng cho bản demo. "
            "Chọn một danh tính để đăng nhập vào Cổng Dịch vụ công.</p>"
            f'<form method="post" action="{html.escape(self.base_url)}/authorize">{hidden}'
            f'<ul class="identities">{"".join(items)}</ul>'
            '<p><button type="submit" name="identity" value="cancel" class="cancel">'
            "Hủy, quay lại cổng</button></p></form>"
        )
        return _page(200, "Đăng nhập bằng tài khoản định danh điện tử", body,
                     css=f"{self.base_url}/idp.css")

    # --- token and userinfo --------------------------------------------------------------------

    def _refuse(self, status: int, code: str, description: str) -> Reply:
        with self._lock:
            self.stats.refused.append(code)
        return Reply(status, {"error": code, "error_description": description},
                     {"Cache-Control": "no-store"})

    def _token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        authorization = request.header("authorization")
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return self._refuse(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return self._refuse(400, "unsupported_grant_type", "authorization_code only")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # single use, even on failure
        if grant is None or grant.expires < time.monotonic():
            return self._refuse(400, "invalid_grant", "unknown, used or expired code")
        if grant.client_id != client.client_id or grant.redirect_uri != form.get("redirect_uri"):
            return self._refuse(400, "invalid_grant", "code issued to another client or address")
        verifier = form.get("code_verifier", "")
        if not (43 <= len(verifier) <= 128) or not hmac.compare_digest(
            s256(verifier), grant.code_challenge
        ):
            return self._refuse(400, "invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = grant.identity.claims() | {
            "iss": self.base_url, "aud": client.client_id, "iat": now, "auth_time": now,
            "exp": now + ID_TOKEN_TTL,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})
        with self._lock:
            self._access[access_token] = _Access(grant.identity,
                                                 time.monotonic() + ACCESS_TOKEN_TTL)
            self.stats.tokens_issued += 1
        return Reply(200, {"access_token": access_token, "token_type": "Bearer",
                           "expires_in": int(ACCESS_TOKEN_TTL), "id_token": id_token},
                     {"Cache-Control": "no-store"})

    def _userinfo(self, request: Request) -> Reply:
        authorization = request.header("authorization")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        with self._lock:
            access = self._access.get(token)
        if access is None or access.expires < time.monotonic():
            return Reply(401, {"error": "invalid_token"},
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return Reply(200, access.identity.claims())


def _page(status: int, title: str, body: str, *, css: str = "") -> Reply:
    link = f'<link rel="stylesheet" href="{html.escape(css)}">' if css else ""
    page = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>{link}</head><body><main>"
        '<p class="brand">Hệ thống định danh và xác thực điện tử (mô phỏng)</p>'
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Reply(status, page.encode(), {"Cache-Control": "no-store"}, "text/html; charset=utf-8")


PAGE_CSS = """
body { margin: 0; font-family: system-ui, sans-serif; background: #f3f5f8; color: #1b1f24; }
main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem; }
.brand { color: #a01818; font-weight: 600; margin: 0 0 .5rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
.identities { list-style: none; padding: 0; margin: 0 0 1rem; display: grid; gap: .75rem; }
.identities button { width: 100%; text-align: left; padding: .9rem 1rem; border: 1px solid #c5ccd6;
  border-radius: .5rem; background: #fff; font: inherit; cursor: pointer; display: grid; gap: .2rem; }
.identities button:hover, .identities button:focus-visible { border-color: #a01818;
  outline: 3px solid #f2c94c; }
.kind { font-size: .85rem; color: #4a5563; }
.detail { font-size: .9rem; color: #333; overflow-wrap: anywhere; }
.cancel { font: inherit; padding: .6rem 1rem; border: 1px solid #4a5563; border-radius: .4rem;
  background: #fff; cursor: pointer; }
"""

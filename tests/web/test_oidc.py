"""Sign-in through the electronic identity provider: the portal (test client) against the
simulator's /idp on loopback, every provider call real HTTP."""

import html
import re
from urllib.parse import parse_qsl, urlsplit

from django.contrib.auth import get_user_model

import jwt
import pytest
import requests

from dossiers.services.demo import demo_accounts_ensure
from integrations.simulator import Simulator
from integrations.simulator.idp import DEMO_IDENTITIES, Identity, OidcClient, s256
from portal.identity import SESSION_ACTING_PERSON, IdentityRefused, applicant_for_identity
from portal.roles import Role
from tests.dossiers.factories import UserFactory

User = get_user_model()
CLIENT_ID, CLIENT_SECRET = "motcua-test", "oidc-test-secret"
CALLBACK = "http://testserver/dang-nhap/dinh-danh/ket-qua/"
STAFF_PERSON = Identity("canbo", "vneid-0099", "045077001111", "Võ Thị Cán Bộ")
IDENTITIES = (*DEMO_IDENTITIES, STAFF_PERSON)


@pytest.fixture
def idp(settings):
    sim = Simulator(oidc_clients={CLIENT_ID: OidcClient(CLIENT_ID, CLIENT_SECRET, (CALLBACK,))},
                    identities=IDENTITIES)
    sim.start()
    base = sim.url_for("idp")
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_ISSUER = base
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks"
    settings.OIDC_TIMEOUT = (1.0, 2.0)
    try:
        yield sim
    finally:
        sim.stop()


def http():
    session = requests.Session()
    session.trust_env = False
    return session


def authorize(client, sim, pick: str, *, next_url: str = "") -> str:
    """Start on the portal, pick an identity on the provider's page; the callback address."""
    start = client.get("/dang-nhap/dinh-danh/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    authorize_url = start["Location"]
    assert authorize_url.startswith(sim.url_for("idp") + "/authorize?")
    params = dict(parse_qsl(urlsplit(authorize_url).query))
    assert params["scope"] == "openid" and params["code_challenge_method"] == "S256"
    assert params["response_type"] == "code" and len(params["code_challenge"]) == 43
    with http() as session:
        page = session.get(authorize_url, timeout=2)
        assert page.status_code == 200
        # The page posts the request back with the pick; read its hidden fields.
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields = {k: html.unescape(v) for k, v in fields.items()}
        assert fields["state"] == params["state"]
        answer = session.post(sim.url_for("idp") + "/authorize", data=fields | {"identity": pick},
                              allow_redirects=False, timeout=2)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(CALLBACK + "?")
    return answer.headers["Location"]


def callback(client, location: str):
    parts = urlsplit(location)
    return client.get(parts.path + "?" + parts.query)


def sign_in(client, sim, pick: str):
    return callback(client, authorize(client, sim, pick))


def messages_on(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_electronic_identity_only_when_configured(client, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    page = client.get("/dang-nhap/")
    assert "Đăng nhập bằng tài khoản định danh điện tử" not in page.content.decode()
    assert client.get("/dang-nhap/dinh-danh/").status_code == 404
    assert client.get("/dang-nhap/dinh-danh/ket-qua/?code=x&state=y").status_code == 404


@pytest.mark.django_db
def test_the_provider_page_lists_the_demo_identities(client, idp):
    page = client.get("/dang-nhap/?next=/ho-so-cua-toi/")
    text = page.content.decode()
    assert "Đăng nhập bằng tài khoản định danh điện tử" in text
    assert 'href="/dang-nhap/dinh-danh/?next=/ho-so-cua-toi/"' in text
    start = client.get("/dang-nhap/dinh-danh/")
    with http() as session:
        idp_page = session.get(start["Location"], timeout=2).text
    for name in ("Nguyễn Văn An", "Công ty TNHH Thương mại Đông Hà", "Lê Thị Mai",
                 "Công ty CP Cơ khí Quảng Trị"):
        assert name in idp_page
    assert "045090001234" in idp_page and "3200123456" in idp_page


@pytest.mark.django_db
def test_the_first_sign_in_creates_a_citizen_account_and_the_second_finds_it(client, idp):
    response = sign_in(client, idp, "mai")

    assert response.status_code == 302 and response["Location"] == "/ho-so-cua-toi/"
    user = User.objects.get(citizen_id="045195004321")
    assert (user.kind, user.full_name) == (User.Kind.CITIZEN, "Lê Thị Mai")
    assert user.has_role(Role.APPLICANT) and not user.has_usable_password()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/ho-so-cua-toi/").status_code == 200

    client.post("/dang-xuat/")
    again = sign_in(client, idp, "mai")

    assert again.status_code == 302
    assert User.objects.filter(citizen_id="045195004321").count() == 1
    assert client.session["_auth_user_id"] == str(user.pk)
    assert idp.idp.stats.tokens_issued == 2


@pytest.mark.django_db
def test_a_new_business_gets_a_business_account_and_the_person_acting_is_kept(client, idp):
    sign_in(client, idp, "cokhi")

    user = User.objects.get(tax_code="3200987654")
    assert (user.kind, user.full_name) == (User.Kind.BUSINESS, "Công ty CP Cơ khí Quảng Trị")
    assert user.has_role(Role.APPLICANT)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[SESSION_ACTING_PERSON] == {"citizen_id": "045088007777",
                                                     "name": "Phạm Văn Nam"}
    # The person acting is not made an account of their own.
    assert not User.objects.filter(citizen_id="045088007777").exists()


@pytest.mark.django_db
def test_the_demo_accounts_are_linked_not_duplicated(client, idp):
    demo = demo_accounts_ensure()
    before = User.objects.count()

    sign_in(client, idp, "an")
    assert client.session["_auth_user_id"] == str(demo["congdan"].pk)
    client.post("/dang-xuat/")
    sign_in(client, idp, "dongha")
    assert client.session["_auth_user_id"] == str(demo["doanhnghiep"].pk)

    assert User.objects.count() == before
    demo["doanhnghiep"].refresh_from_db()
    assert demo["doanhnghiep"].full_name == "Công ty TNHH Thương mại Đông Hà"
    assert demo["doanhnghiep"].check_password("motcua-demo-2025")  # still usable locally


@pytest.mark.django_db
def test_a_staff_account_with_the_same_citizen_id_is_never_signed_in(client, idp, agency):
    officer = UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code=agency.code,
                          citizen_id=STAFF_PERSON.citizen_id)

    response = sign_in(client, idp, "canbo")

    assert response.status_code == 302 and response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session
    page = client.get("/dang-nhap/")
    assert "Tài khoản cán bộ, công chức không đăng nhập bằng tài khoản định danh" in \
        messages_on(page)
    assert User.objects.filter(citizen_id=STAFF_PERSON.citizen_id).get() == officer


@pytest.mark.django_db
def test_a_wrong_pkce_verifier_is_refused_by_the_provider(client, idp):
    location = authorize(client, idp, "mai")
    state = dict(parse_qsl(urlsplit(location).query))["state"]
    session = client.session
    session["oidc_states"][state]["code_verifier"] = "x" * 64
    session.save()

    response = callback(client, location)

    assert response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session
    assert idp.idp.stats.refused == ["invalid_grant"]
    assert "không xác nhận lần đăng nhập này" in messages_on(client.get("/dang-nhap/"))
    assert not User.objects.filter(citizen_id="045195004321").exists()


@pytest.mark.django_db
def test_a_code_used_once_is_refused_the_second_time(client, idp, django_user_model):
    first = authorize(client, idp, "mai")
    code = dict(parse_qsl(urlsplit(first).query))["code"]
    callback(client, first)
    assert "_auth_user_id" in client.session
    client.post("/dang-xuat/")

    # A new round trip whose answer carries the old code instead of its own.
    second = authorize(client, idp, "mai")
    state = dict(parse_qsl(urlsplit(second).query))["state"]
    response = client.get("/dang-nhap/dinh-danh/ket-qua/", {"code": code, "state": state})

    assert response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session
    assert idp.idp.stats.refused == ["invalid_grant"]


@pytest.mark.django_db
def test_a_state_that_does_not_match_ends_on_the_sign_in_page(client, idp):
    location = authorize(client, idp, "mai")
    code = dict(parse_qsl(urlsplit(location).query))["code"]

    response = client.get("/dang-nhap/dinh-danh/ket-qua/", {"code": code, "state": "forged"},
                          follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/dang-nhap/"
    assert "đã hết hạn hoặc không hợp lệ" in messages_on(response)
    assert "_auth_user_id" not in client.session
    assert idp.idp.stats.tokens_issued == 0  # the code was never sent anywhere


@pytest.mark.django_db
def test_cancelling_on_the_provider_page_says_so(client, idp):
    response = callback(client, authorize(client, idp, "cancel"))

    assert response["Location"] == "/dang-nhap/"
    assert "Bạn đã hủy đăng nhập" in messages_on(client.get("/dang-nhap/"))


@pytest.mark.django_db
def test_a_provider_that_is_down_ends_on_the_sign_in_page(client, idp):
    idp.set_down("idp")
    response = client.get("/dang-nhap/dinh-danh/", follow=True)
    assert response.redirect_chain[-1][0] == "/dang-nhap/"
    assert "Không kết nối được hệ thống định danh điện tử" in messages_on(response)

    # Down between the pick and the exchange of the code.
    idp.set_down("idp", False)
    location = authorize(client, idp, "an")
    idp.set_down("idp")
    response = callback(client, location)
    assert response["Location"] == "/dang-nhap/"
    assert "Không kết nối được" in messages_on(client.get("/dang-nhap/"))

    # Answering the exchange with something that is not JSON.
    idp.set_down("idp", False)
    location = authorize(client, idp, "an")
    idp.fail_next("idp", "garbled")
    response = callback(client, location)
    assert response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session

    # Gone altogether.
    idp.set_down("idp", False)
    location = authorize(client, idp, "an")
    idp.stop()
    response = callback(client, location)
    assert response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_id_token_for_another_client_is_refused(client, idp, settings):
    location = authorize(client, idp, "mai")
    settings.OIDC_OP_ISSUER = "http://127.0.0.1:1/idp"  # the token's issuer no longer matches

    response = callback(client, location)

    assert response["Location"] == "/dang-nhap/"
    assert "_auth_user_id" not in client.session
    assert "không hợp lệ" in messages_on(client.get("/dang-nhap/"))


@pytest.mark.django_db
def test_a_password_sign_in_never_reaches_the_provider(idp, rf):
    """The backend acts for the callback view only, whatever the query string says."""
    from django.contrib.auth import authenticate

    UserFactory(username="someone", password="matkhau-demo-2025")
    request = rf.get("/api/v1/dossiers/?code=stolen&state=any")
    request.session = {}

    assert authenticate(request, username="someone", password="wrong") is None
    assert authenticate(request, username="someone", password="matkhau-demo-2025").username == \
        "someone"
    assert idp.received("idp") == []


@pytest.mark.django_db
def test_without_an_issuer_the_electronic_identity_is_off(client, idp, settings):
    settings.OIDC_OP_ISSUER = ""
    assert client.get("/dang-nhap/dinh-danh/").status_code == 404


# --- the provider on its own --------------------------------------------------------------------


def _code(session, sim, verifier: str, pick: str = "an") -> str:
    answer = session.post(sim.url_for("idp") + "/authorize", allow_redirects=False, timeout=2,
                          data={"response_type": "code", "client_id": CLIENT_ID,
                                "redirect_uri": CALLBACK, "scope": "openid", "state": "s",
                                "nonce": "n", "code_challenge": s256(verifier),
                                "code_challenge_method": "S256", "identity": pick})
    assert answer.status_code == 303
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]


def _exchange(session, sim, code: str, verifier: str, secret: str = CLIENT_SECRET):
    return session.post(sim.url_for("idp") + "/token", timeout=2, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID, "client_secret": secret, "code_verifier": verifier})


def test_the_provider_checks_secret_verifier_and_single_use(idp):
    verifier = "v" * 50
    with http() as session:
        discovery = session.get(idp.url_for("idp") + "/.well-known/openid-configuration",
                                timeout=2).json()
        assert discovery["token_endpoint"] == idp.url_for("idp") + "/token"
        assert discovery["code_challenge_methods_supported"] == ["S256"]

        code = _code(session, idp, verifier)
        assert _exchange(session, idp, code, "w" * 50).json()["error"] == "invalid_grant"
        # A wrong verifier used the code up.
        assert _exchange(session, idp, code, verifier).json()["error"] == "invalid_grant"

        code = _code(session, idp, verifier)
        # Someone without the client's secret cannot redeem it (nor use it up).
        assert _exchange(session, idp, code, verifier, secret="wrong").status_code == 401
        good = _exchange(session, idp, code, verifier)
        assert good.status_code == 200
        assert _exchange(session, idp, code, verifier).json()["error"] == "invalid_grant"

        keys = session.get(discovery["jwks_uri"], timeout=2).json()["keys"]
        token = good.json()["id_token"]
        key = jwt.PyJWK(keys[0])
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=CLIENT_ID,
                            issuer=discovery["issuer"])
        assert (claims["citizen_id"], claims["nonce"]) == ("045090001234", "n")
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        info = session.get(discovery["userinfo_endpoint"], timeout=2,
                           headers={"Authorization": "Bearer " + good.json()["access_token"]})
        assert info.json()["sub"] == claims["sub"]
        assert session.get(discovery["userinfo_endpoint"], timeout=2,
                           headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_provider_refuses_expired_codes_and_unregistered_addresses(idp):
    verifier = "v" * 50
    with http() as session:
        idp.idp.code_ttl = -1
        code = _code(session, idp, verifier)
        assert _exchange(session, idp, code, verifier).json()["error"] == "invalid_grant"

        page = session.get(idp.url_for("idp") + "/authorize", timeout=2, allow_redirects=False,
                           params={"response_type": "code", "client_id": CLIENT_ID,
                                   "redirect_uri": "http://evil.example/cb", "scope": "openid",
                                   "code_challenge": s256(verifier),
                                   "code_challenge_method": "S256"})
        assert page.status_code == 400 and "Location" not in page.headers
        no_pkce = session.get(idp.url_for("idp") + "/authorize", timeout=2,
                              allow_redirects=False,
                              params={"response_type": "code", "client_id": CLIENT_ID,
                                      "redirect_uri": CALLBACK, "scope": "openid"})
        assert no_pkce.status_code == 303
        assert "error=invalid_request" in no_pkce.headers["Location"]


# --- the claims and the accounts they lead to ---------------------------------------------------

PERSON = {"identity_type": "citizen", "citizen_id": "045095009999", "name": "Đỗ Văn Bình"}


@pytest.mark.django_db
@pytest.mark.parametrize("claims", [
    {**PERSON, "citizen_id": ""},
    {**PERSON, "citizen_id": "04509500999"},  # 11 digits
    {**PERSON, "name": ""},
    {**PERSON, "identity_type": "robot"},
    {**PERSON, "identity_type": "organization", "tax_code": "12", "organization_name": "X"},
    {**PERSON, "identity_type": "organization", "tax_code": "3200111222"},
])
def test_unusable_claims_are_refused_and_create_nothing(claims):
    before = User.objects.count()
    with pytest.raises(IdentityRefused):
        applicant_for_identity(claims)
    assert User.objects.count() == before


@pytest.mark.django_db
def test_a_locked_or_doubled_citizen_id_is_refused():
    locked = UserFactory(roles=[Role.APPLICANT], citizen_id=PERSON["citizen_id"], is_active=False)
    with pytest.raises(IdentityRefused, match="bị khóa"):
        applicant_for_identity(PERSON)
    locked.is_active = True
    locked.save()
    assert applicant_for_identity(PERSON) == locked
    UserFactory(roles=[Role.APPLICANT], citizen_id=PERSON["citizen_id"])
    with pytest.raises(IdentityRefused, match="nhiều tài khoản"):
        applicant_for_identity(PERSON)


@pytest.mark.django_db
def test_a_taken_username_or_a_citizen_with_the_tax_code_does_not_capture_the_sign_in():
    squatter = UserFactory(username="cccd-045095009999", citizen_id="")
    personal = UserFactory(roles=[Role.APPLICANT], kind="citizen", tax_code="3200111222")

    person = applicant_for_identity(PERSON)
    business = applicant_for_identity({**PERSON, "identity_type": "organization",
                                       "tax_code": "3200111222", "organization_name": "HTX A"})

    assert person != squatter and person.username.startswith("cccd-045095009999-")
    assert person.citizen_id == PERSON["citizen_id"]
    assert business != personal and business.kind == User.Kind.BUSINESS
    assert applicant_for_identity(PERSON) == person  # found again

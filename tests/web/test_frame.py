"""The frame every page stands on: sign-in and sign-out, landing by role, language, assets."""

import pytest

from portal.roles import Role
from tests.dossiers.factories import UserFactory

PASSWORD = "mat-khau-thu-nghiem-2026"


def _user(*roles, **extra):
    user = UserFactory(roles=list(roles), **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(("roles", "landing"), [
    ((Role.APPLICANT,), "/ho-so-cua-toi/"),
    ((Role.RECEPTION,), "/can-bo/hang-doi/"),
    ((Role.SPECIALIST,), "/can-bo/hang-doi/"),
    ((Role.LEADER,), "/can-bo/hang-doi/"),
    ((Role.MANAGER,), "/quan-ly/chi-so/"),
    ((Role.ADMIN,), "/admin/"),
])
def test_sign_in_lands_on_the_page_of_the_job(client, roles, landing):
    user = _user(*roles)
    response = client.post("/dang-nhap/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == landing


@pytest.mark.django_db
def test_sign_in_goes_back_to_the_page_asked_for_but_never_to_another_host(client):
    user = _user(Role.APPLICANT)
    response = client.post("/dang-nhap/?next=/tra-cuu/",
                           {"username": user.username, "password": PASSWORD, "next": "/tra-cuu/"})
    assert response["Location"] == "/tra-cuu/"
    client.logout()
    response = client.post("/dang-nhap/", {"username": user.username, "password": PASSWORD,
                                           "next": "https://evil.example/"})
    assert response["Location"] == "/ho-so-cua-toi/"


@pytest.mark.django_db
def test_wrong_password_says_so_in_vietnamese_and_keeps_the_username(client):
    user = _user(Role.APPLICANT)
    response = client.post("/dang-nhap/", {"username": user.username, "password": "sai"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in body
    assert f'value="{user.username}"' in body
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_out_needs_a_post(client):
    user = _user(Role.APPLICANT)
    client.force_login(user)
    response = client.get("/dang-xuat/")
    assert response.status_code == 200 and "_auth_user_id" in client.session
    response = client.post("/dang-xuat/")
    assert response.status_code == 302 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_navigation_shows_each_role_its_own_pages(client):
    client.force_login(_user(Role.RECEPTION))
    body = client.get("/dang-nhap/", follow=True).content.decode()
    assert 'href="/can-bo/hang-doi/"' in body
    assert 'href="/ho-so-cua-toi/"' not in body
    assert 'href="/quan-ly/chi-so/"' not in body


@pytest.mark.django_db
def test_language_switch_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/dang-nhap/"})
    assert response.status_code == 302
    body = client.get("/dang-nhap/").content.decode()
    assert '<html lang="en">' in body and "Log in" in body
    client.post("/i18n/setlang/", {"language": "vi", "next": "/dang-nhap/"})
    body = client.get("/dang-nhap/").content.decode()
    assert '<html lang="vi">' in body and "Đăng nhập" in body


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/static/web/css/portal.css", "/static/web/img/favicon.svg", "/static/web/img/favicon.ico",
    "/static/django_htmx/htmx-2.min.js",
])
def test_assets_are_served_by_the_portal_itself(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.django_db
def test_favicon_at_the_address_browsers_ask(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/web/img/favicon.ico")


@pytest.mark.django_db
def test_unknown_page_is_a_page_and_unknown_api_address_is_json(client):
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.content.decode()
    response = client.get("/api/v1/khong-co/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_pages_open_in_vietnamese_on_an_english_browser_until_english_is_chosen(client):
    body = client.get("/dang-nhap/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="vi">' in body
    client.cookies["django_language"] = "xx-unknown"
    body = client.get("/dang-nhap/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="vi">' in body
    client.post("/i18n/setlang/", {"language": "en", "next": "/dang-nhap/"})
    body = client.get("/dang-nhap/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert '<html lang="en">' in body


@pytest.mark.django_db
def test_api_clients_may_still_ask_for_english(client):
    response = client.get("/api/v1/khong-co/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    response = client.get("/api/v1/queue/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (401, 403)
    assert "credentials" in response.json()["message"] or "permission" in response.json()["message"]

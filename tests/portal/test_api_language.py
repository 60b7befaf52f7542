"""API errors speak the site's language (Vietnamese) unless the client asks for English."""

from django.urls import reverse

import pytest

from tests.dossiers.factories import DossierFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _required_field_message(client, **headers) -> str:
    response = client.post(reverse("api:dossiers:create"), {}, format="json", **headers)
    assert response.status_code == 400
    return response.json()["extra"]["fields"]["procedure_id"][0]


def test_a_missing_field_is_reported_in_vietnamese(api_client_for, applicant):
    assert _required_field_message(api_client_for(applicant)) == "Trường này là bắt buộc."


def test_a_missing_field_is_reported_in_english_to_an_english_client(api_client_for, applicant):
    assert _required_field_message(api_client_for(applicant), **EN) == "This field is required."


def test_a_refusal_by_role_is_in_vietnamese_unless_english_is_asked(api_client_for, reception):
    client = api_client_for(reception)
    url = reverse("api:dossiers:create")

    vi = client.post(url, {"procedure_id": 1}, format="json")
    en = client.post(url, {"procedure_id": 1}, format="json", **EN)

    assert vi.status_code == en.status_code == 403
    assert vi.json()["message"] == "Bạn không được cấp quyền để thực hiện hành động này."
    assert en.json()["message"] == "You do not have permission to perform this action."


def test_a_wrong_method_is_in_vietnamese_unless_english_is_asked(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)
    client = api_client_for(applicant)
    url = reverse("api:dossiers:submit", args=[dossier.pk])

    vi = client.get(url)
    en = client.get(url, **EN)

    assert vi.status_code == en.status_code == 405
    assert vi.json()["message"] == "Phương thức “GET” không được chấp nhận."
    assert en.json()["message"] == 'Method "GET" not allowed.'


def test_the_domain_errors_follow_the_language_too(api_client_for, applicant):
    client = api_client_for(applicant)
    url = reverse("api:dossiers:detail", args=[987654])

    vi = client.get(url)

    assert vi.status_code == 404
    assert vi.json()["code"] == "dossier_not_found"
    assert "hồ sơ" in vi.json()["message"].lower()


def test_an_anonymous_request_is_refused_in_english_when_english_is_asked(api_client_for):
    response = api_client_for().get(reverse("api:dossiers:list"), **EN)

    assert response.json()["message"] == "Authentication credentials were not provided."


# DRF's Vietnamese catalog lacks this message (and throttling, media type, bad credentials);
# the project's catalog (locale/vi) supplies them.
def test_an_anonymous_request_is_refused_in_vietnamese(api_client_for):
    response = api_client_for().get(reverse("api:dossiers:list"))

    assert response.json()["message"] == "Chưa đăng nhập: yêu cầu không kèm thông tin xác thực."


@pytest.mark.parametrize(("english", "vietnamese"), [
    ("Show counts", "Hiện số lượng"),
    ("Reset password", "Đặt lại mật khẩu"),
    ("Request was throttled.", "Quá nhiều yêu cầu trong thời gian ngắn."),
])
def test_the_project_catalog_fills_the_libraries_gaps_in_vietnamese(english, vietnamese):
    from django.utils import translation

    with translation.override("vi"):
        assert translation.gettext(english) == vietnamese
    with translation.override("en"):
        assert translation.gettext(english) == english

"""The public verification endpoint and page, through URLs."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import include, path, reverse

import pytest

from .pki import sign_detached, sign_pdf

urlpatterns = [
    path("api/v1/", include(([path("signatures/", include("signatures.api.urls"))], "api"))),
    path("xac-thuc/", include("signatures.urls")),
]


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_verify_answers_the_report_for_each_signature(api_client_for, trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.leaves["business"])

    response = api_client_for().post(reverse("api:signatures:verify"),
                                     {"file": upload("don.pdf", signed)}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert body["issued_by_us"] is False and body["verdict"] == "valid"
    (signature,) = body["signatures"]
    assert (signature["verdict"], signature["indication"], signature["sub_indication"]) == (
        "valid", "TOTAL_PASSED", None)
    assert signature["signer"]["tax_code"] == "0101234567"
    assert signature["advice"]["reason_en"] == "The digital signature is valid."
    assert signature["coverage"] == "entire_file"


def test_a_pdf_without_signature_answers_an_empty_list(api_client_for, trust_store, plain_pdf):
    response = api_client_for().post(reverse("api:signatures:verify"),
                                     {"file": upload("don.pdf", plain_pdf)}, format="multipart")

    assert response.status_code == 200
    assert response.json()["signatures"] == []
    assert response.json()["verdict"] is None


def test_a_file_that_is_not_a_pdf_answers_400_with_the_error_body(api_client_for, db):
    response = api_client_for().post(reverse("api:signatures:verify"),
                                     {"file": upload("don.pdf", b"MZ\x90\x00 not a pdf")},
                                     format="multipart")

    assert response.status_code == 400
    assert response.json() == {
        "code": "unsupported_format",
        "message": "Tệp không phải là PDF hoặc chữ ký CMS/PKCS#7.",
        "extra": {"filename": "don.pdf"},
    }


def test_a_missing_file_is_a_validation_error(api_client_for, db):
    response = api_client_for().post(reverse("api:signatures:verify"), {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_detached_signature_is_verified_over_the_file(api_client_for, trust_store):
    data = b"<ToKhai>...</ToKhai>"
    p7s = sign_detached(data, trust_store.leaves["citizen"])

    response = api_client_for().post(
        reverse("api:signatures:verify"),
        {"file": upload("to-khai.xml", data), "detached": upload("to-khai.xml.p7s", p7s)},
        format="multipart",
    )

    assert response.status_code == 200
    (signature,) = response.json()["signatures"]
    assert signature["verdict"] == "valid" and signature["kind"] == "cms"


@pytest.mark.urls("tests.signatures.test_api")
def test_the_public_page_shows_the_report(client, trust_store, plain_pdf):
    signed = sign_pdf(plain_pdf, trust_store.leaves["citizen"])

    page = client.get("/xac-thuc/")
    posted = client.post("/xac-thuc/", {"file": upload("don.pdf", signed)})

    assert page.status_code == 200
    assert posted.status_code == 200
    text = posted.content.decode()
    assert "Nguyễn Thị Hoa" in text and "001085012345" in text and "Chữ ký số hợp lệ." in text


@pytest.mark.urls("tests.signatures.test_api")
def test_the_page_refuses_a_non_pdf(client, db):
    response = client.post("/xac-thuc/", {"file": upload("x.pdf", b"hello")})

    assert response.status_code == 400


def test_the_public_page_is_served_where_the_qr_codes_point(client, db):
    from signatures.services import issued_document_record

    issued = issued_document_record(content=b"%PDF ours", filename="kq.pdf", reference="5/GP-SCT",
                                    code="qr-code-1", signer_subject="SCT",
                                    signer_backend="pkcs12", level="B-B")
    page = client.get("/xac-thuc/", {"ma": issued.code})
    assert page.status_code == 200
    assert "5/GP-SCT" in page.content.decode()
    garbage = client.post("/xac-thuc/", {"file": SimpleUploadedFile("x.pdf", b"garbage")})
    assert garbage.status_code == 400


# --- bounded before the body is read: size and throttle, the page like the API --------------


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


@pytest.fixture
def empty_cache():
    from django.core.cache import caches

    caches["default"].clear()
    yield
    caches["default"].clear()


def _unread_post(path: str, declared: int):
    from django.test import RequestFactory

    request = RequestFactory().post(path, data=b"x", content_type="multipart/form-data; "
                                    "boundary=BoUnDaRy")
    request.META["CONTENT_LENGTH"] = str(declared)
    request._stream = _Unreadable()
    return request


def test_the_page_refuses_a_body_over_the_limit_with_413_without_reading_it(
    db, settings, empty_cache
):
    from signatures.views import verify_page

    settings.UPLOAD_MAX_FILE_BYTES = 1000
    response = verify_page(_unread_post("/xac-thuc/", 200 * 2**20))

    assert response.status_code == 413
    assert "Tệp vượt quá dung lượng cho phép." in response.content.decode()


def test_the_api_refuses_a_body_over_the_limit_with_413_without_reading_it(
    db, settings, empty_cache
):
    from signatures.api.views import SignatureVerifyApi

    settings.UPLOAD_MAX_FILE_BYTES = 1000
    response = SignatureVerifyApi.as_view()(_unread_post("/api/v1/signatures/verify/",
                                                         200 * 2**20))

    assert response.status_code == 413
    assert response.data["code"] == "file_too_large"


@pytest.mark.urls("tests.signatures.test_api")
@pytest.mark.parametrize("target", ["/xac-thuc/", "/api/v1/signatures/verify/"])
def test_a_file_over_the_limit_inside_a_body_under_it_is_refused_with_413(
    client, db, settings, empty_cache, target
):
    settings.UPLOAD_MAX_FILE_BYTES = 1000
    response = client.post(target, {"file": upload("don.pdf", b"%PDF-" + b"0" * 2000)})

    assert response.status_code == 413


@pytest.mark.urls("tests.signatures.test_api")
def test_the_page_and_the_api_share_one_throttle_that_a_signed_in_user_does_not_escape(
    client, db, settings, empty_cache
):
    from tests.dossiers.factories import UserFactory

    settings.SIGNATURES_VERIFY_RATE = "2/min"
    client.force_login(UserFactory(roles=["applicant"]))

    first = client.post("/xac-thuc/", {"file": upload("x.pdf", b"hello")})
    second = client.post("/api/v1/signatures/verify/", {"file": upload("x.pdf", b"hello")})
    page = client.post("/xac-thuc/", {"file": upload("x.pdf", b"hello")})
    api = client.post("/api/v1/signatures/verify/", {"file": upload("x.pdf", b"hello")})

    assert (first.status_code, second.status_code) == (400, 400)
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert "Quá nhiều yêu cầu kiểm tra" in page.content.decode()
    assert api.status_code == 429
    assert client.get("/xac-thuc/").status_code == 200  # reading the page costs nothing


@pytest.mark.urls("tests.signatures.test_api")
def test_the_page_still_checks_csrf_after_the_size_and_the_throttle(db, empty_cache):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/xac-thuc/", {"file": upload("x.pdf", b"%PDF-1.7")})

    assert response.status_code == 403

"""The one API error shape: every failure leaves as {"code", "message", "extra"}."""

import json

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import translation

import pytest
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from dossiers.exceptions import (
    DossierNotFound,
    InvalidFormData,
    InvalidTransition,
    MissingDocuments,
    PaymentRequired,
    ProcedureNotFound,
    ReasonRequired,
    StaleVersion,
)
from dossiers.models import Dossier
from dossiers.services import document_upload
from portal.exceptions import DomainError, PermissionDenied
from tests.dossiers.factories import DossierFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

INVALID_DATA = "Dữ liệu không hợp lệ."


def body(code: str, message, extra: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "extra": extra or {}}


def in_site_language(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


# --- domain errors from real endpoints ------------------------------------------------------


def test_another_applicants_dossier_is_dossier_not_found(api_client_for, other_applicant):
    dossier = DossierFactory()

    response = api_client_for(other_applicant).get(
        reverse("api:dossiers:detail", args=[dossier.pk])
    )

    assert response.status_code == 404
    assert response.json() == body("dossier_not_found", DossierNotFound.default_message)


def test_unknown_procedure_is_procedure_not_found(api_client_for):
    response = api_client_for().get(reverse("api:dossiers:procedure", args=[987654]))

    assert response.status_code == 404
    assert response.json() == body("procedure_not_found", ProcedureNotFound.default_message)


def test_transition_from_the_wrong_state_is_a_409(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant, processing=True)

    response = api_client_for(applicant).post(reverse("api:dossiers:submit", args=[dossier.pk]))

    assert response.status_code == 409
    assert response.json() == body(
        "invalid_transition", InvalidTransition.default_message,
        {"state": "processing", "transition": "submit"},
    )


def test_transition_by_the_wrong_role_is_a_403(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant, submitted=True)

    response = api_client_for(applicant).post(reverse("api:dossiers:accept", args=[dossier.pk]))

    assert response.status_code == 403
    assert response.json() == body("permission_denied", PermissionDenied.default_message)
    dossier.refresh_from_db()
    assert dossier.state == Dossier.State.SUBMITTED


def test_stale_version_is_a_409_naming_the_current_version(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)

    response = api_client_for(applicant).post(
        reverse("api:dossiers:submit", args=[dossier.pk]), {"version": dossier.version + 5},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == body(
        "stale_version", StaleVersion.default_message, {"current_version": dossier.version}
    )


def test_submitting_without_mandatory_documents_is_a_422(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)

    response = api_client_for(applicant).post(reverse("api:dossiers:submit", args=[dossier.pk]))

    assert response.status_code == 422
    assert response.json() == body(
        "missing_documents", MissingDocuments.default_message, {"components": ["don_de_nghi"]}
    )


def test_submitting_unpaid_when_the_fee_is_due_first_is_a_402(
    api_client_for, applicant, pdf_file
):
    procedure = ProcedureFactory(fee_at_submission=True)
    dossier = DossierFactory(applicant=applicant, procedure=procedure)
    document_upload(
        dossier_id=dossier.pk, actor=applicant, component_code="don_de_nghi",
        uploaded_file=pdf_file(),
    )

    response = api_client_for(applicant).post(reverse("api:dossiers:submit", args=[dossier.pk]))

    assert response.status_code == 402
    assert response.json() == body(
        "payment_required", PaymentRequired.default_message, {"amount": procedure.fee_vnd}
    )


def test_missing_reason_is_a_400(api_client_for, reception):
    dossier = DossierFactory(submitted=True)

    response = api_client_for(reception).post(
        reverse("api:dossiers:return_for_completion", args=[dossier.pk]), {"reason": "  "},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == body("reason_required", ReasonRequired.default_message)


def test_form_data_that_breaks_the_schema_is_a_400_naming_the_field(api_client_for, applicant):
    procedure = ProcedureFactory()

    response = api_client_for(applicant).post(
        reverse("api:dossiers:create"),
        {"procedure_id": procedure.pk, "form_data": {"tax_code": "12"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_form_data"
    assert response.json()["message"] == str(InvalidFormData.default_message)
    assert [e["field"] for e in response.json()["extra"]["errors"]] == ["tax_code"]
    assert not Dossier.objects.exists()


# --- DRF's own errors from real endpoints ---------------------------------------------------


def test_unauthenticated_request_is_refused_as_not_authenticated(api_client_for):
    response = api_client_for().get(reverse("api:dossiers:list"))

    assert response.status_code in (401, 403)
    assert response.json() == body(
        "not_authenticated", in_site_language(exceptions.NotAuthenticated.default_detail)
    )


def test_wrong_token_is_refused_as_authentication_failed(api_client_for):
    client = api_client_for()
    client.credentials(HTTP_AUTHORIZATION="Token sai-ma-truy-cap")

    response = client.get(reverse("api:dossiers:list"))

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "authentication_failed"
    assert set(response.json()) == {"code", "message", "extra"}
    assert response.json()["extra"] == {}


def test_role_gate_refusal_is_permission_denied(api_client_for, reception):
    response = api_client_for(reception).post(
        reverse("api:dossiers:create"), {"procedure_id": 1}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == body(
        "permission_denied", in_site_language(exceptions.PermissionDenied.default_detail)
    )


def test_wrong_http_method_is_a_405(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)

    response = api_client_for(applicant).get(reverse("api:dossiers:submit", args=[dossier.pk]))

    assert response.status_code == 405
    assert response.json() == body(
        "method_not_allowed", in_site_language(exceptions.MethodNotAllowed("GET").detail)
    )


def test_serializer_errors_are_a_validation_error_listing_the_fields(api_client_for, applicant):
    dossier = DossierFactory(applicant=applicant)

    response = api_client_for(applicant).post(
        reverse("api:dossiers:upload", args=[dossier.pk]), {"digitized": "x"},
        format="multipart",
    )

    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"code", "message", "extra"}
    assert (payload["code"], payload["message"]) == ("validation_error", INVALID_DATA)
    assert set(payload["extra"]["fields"]) == {"component", "file", "digitized"}
    assert all(
        isinstance(messages, list) and all(isinstance(m, str) and m for m in messages)
        for messages in payload["extra"]["fields"].values()
    )


def test_malformed_json_is_a_parse_error(api_client_for, applicant):
    response = api_client_for(applicant).generic(
        "POST", reverse("api:dossiers:create"), "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["extra"] == {}


def test_json_sent_to_the_upload_endpoint_is_an_unsupported_media_type(
    api_client_for, applicant
):
    dossier = DossierFactory(applicant=applicant)

    response = api_client_for(applicant).post(
        reverse("api:dossiers:upload", args=[dossier.pk]), {"component": "don_de_nghi"},
        format="json",
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert response.json()["extra"] == {}


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_too_many_lookups_are_throttled(api_client_for, empty_cache):
    client = api_client_for()
    url = reverse("api:dossiers:lookup")
    statuses = [
        client.get(url, {"code": "SCT-250303-0001", "secret": "sai"}).status_code
        for _ in range(30)
    ]

    response = client.get(url, {"code": "SCT-250303-0001", "secret": "sai"})

    assert set(statuses) == {404}
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["extra"] == {}
    assert int(response["Retry-After"]) > 0


# --- errors no endpoint raises on purpose, through the same DRF pipeline ---------------------


class RaisingApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    error: Exception | None = None

    def get(self, request):
        raise self.error


def raise_through_api(error: Exception) -> tuple[int, dict]:
    response = RaisingApi.as_view(error=error)(APIRequestFactory().get("/"))
    response.render()
    return response.status_code, json.loads(response.content)


def _domain_errors() -> list[type[DomainError]]:
    found, todo = [], [DomainError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


@pytest.mark.parametrize("error_class", _domain_errors(), ids=lambda cls: cls.__qualname__)
def test_every_domain_error_keeps_its_own_status_and_code(error_class):
    status, payload = raise_through_api(error_class())

    assert status == error_class.http_status
    assert payload == body(error_class.code, error_class.default_message)


def test_domain_error_carries_its_message_and_extra():
    status, payload = raise_through_api(
        InvalidTransition("Hồ sơ đã được tiếp nhận.", extra={"state": "processing"})
    )

    assert status == 409
    assert payload == body("invalid_transition", "Hồ sơ đã được tiếp nhận.", {"state": "processing"})


def test_django_validation_error_with_fields_is_a_400_listing_them():
    status, payload = raise_through_api(
        DjangoValidationError({"fee_due": ["Sai."], "name": ["Bắt buộc.", "Quá dài."]})
    )

    assert status == 400
    assert payload == body(
        "validation_error", INVALID_DATA,
        {"fields": {"fee_due": ["Sai."], "name": ["Bắt buộc.", "Quá dài."]}},
    )


def test_django_validation_error_without_fields_is_a_400_with_non_field_errors():
    status, payload = raise_through_api(DjangoValidationError("Không được sửa."))

    assert status == 400
    assert payload == body(
        "validation_error", INVALID_DATA, {"fields": {"non_field_errors": ["Không được sửa."]}}
    )


def test_http404_is_not_found():
    status, payload = raise_through_api(Http404("chi tiết nội bộ"))

    assert status == 404
    assert payload == body("not_found", in_site_language(exceptions.NotFound.default_detail))


def test_django_permission_denied_is_permission_denied():
    status, payload = raise_through_api(DjangoPermissionDenied("chi tiết nội bộ"))

    assert status == 403
    assert payload == body(
        "permission_denied", in_site_language(exceptions.PermissionDenied.default_detail)
    )


def test_fsm_transition_not_allowed_is_a_409():
    draft = Dossier()
    with pytest.raises(TransitionNotAllowed) as raised:
        draft.approve(at=None)

    status, payload = raise_through_api(raised.value)

    assert status == 409
    assert payload == body("invalid_transition", "Thao tác không hợp lệ ở trạng thái hiện tại.")


def test_fsm_concurrent_transition_is_a_409():
    status, payload = raise_through_api(ConcurrentTransition("đã thay đổi"))

    assert status == 409
    assert payload["code"] == "invalid_transition"
    assert payload["extra"] == {}


def test_unexpected_errors_are_not_disguised_as_client_errors():
    with pytest.raises(RuntimeError, match="lỗi lập trình"):
        raise_through_api(RuntimeError("lỗi lập trình"))

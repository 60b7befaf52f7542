"""The schema documents the error answers of every operation, new ones included, and the shapes
the API really sends (nullable fields, download types, form data as an object)."""

from django.urls import path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from portal.api.mixins import AuthenticatedApi, PublicApi

ERROR_REF = "#/components/schemas/Error"


def _schema(patterns=None) -> dict:
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def _error_statuses(operation: dict) -> set[int]:
    return {
        int(status) for status, response in operation["responses"].items()
        if response.get("content", {}).get("application/json", {}).get("schema", {})
        .get("$ref") == ERROR_REF
    }


class _Input(serializers.Serializer):
    name = serializers.CharField()


class _Upload(serializers.Serializer):
    file = serializers.FileField()


class ReadApi(AuthenticatedApi):
    def get(self, request):
        return Response({})


class ChangeApi(AuthenticatedApi):
    @extend_schema(request=_Input, responses={201: _Input})
    def post(self, request):
        return Response({}, status=201)


class UploadApi(AuthenticatedApi):
    @extend_schema(request=_Upload, responses=_Input)
    def post(self, request):
        return Response({})


class ThrottledPublicApi(PublicApi):
    throttle_classes = [AnonRateThrottle]
    error_statuses = (503,)

    @extend_schema(responses={200: _Input, 404: OpenApiResponse(_Input, description="own")})
    def get(self, request):
        return Response({})


@pytest.fixture
def new_endpoints() -> dict:
    paths = _schema([
        path("read/", ReadApi.as_view()), path("change/", ChangeApi.as_view()),
        path("upload/", UploadApi.as_view()), path("public/", ThrottledPublicApi.as_view()),
    ])["paths"]
    return {
        "read": paths["/read/"]["get"], "change": paths["/change/"]["post"],
        "upload": paths["/upload/"]["post"], "public": paths["/public/"]["get"],
    }


def test_a_new_endpoint_documents_its_errors_without_declaring_them(new_endpoints):
    assert _error_statuses(new_endpoints["read"]) == {400, 401, 403, 404}
    assert _error_statuses(new_endpoints["change"]) == {400, 401, 403, 404, 409, 415, 422}
    assert _error_statuses(new_endpoints["upload"]) == {
        400, 401, 403, 404, 409, 413, 415, 422}
    assert set(new_endpoints["change"]["responses"]) == {
        "201", "400", "401", "403", "404", "409", "415", "422"}


def test_public_throttled_and_view_declared_statuses(new_endpoints):
    public = new_endpoints["public"]
    # Anyone may call it: no 401/403; throttled: 429; the view's own 503; its own 404 is kept.
    assert _error_statuses(public) == {400, 429, 503}
    assert public["responses"]["404"]["description"] == "own"
    assert public["responses"]["404"]["content"]["application/json"]["schema"]["$ref"] != ERROR_REF


def test_the_error_shape_is_the_exception_handlers(db):
    error = _schema()["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "extra"}
    assert error["properties"]["extra"]["type"] == "object"


def test_every_portal_operation_documents_not_found_and_bad_requests(db):
    paths = _schema()["paths"]
    operations = [(p, m, op) for p, item in paths.items() for m, op in item.items()]
    assert len(operations) >= 40
    for route, method, operation in operations:
        statuses = _error_statuses(operation)
        assert {400, 404} <= statuses, (method, route)
        if method in ("post", "put", "patch", "delete"):
            assert 409 in statuses, (method, route)


def test_the_documented_shapes_are_the_sent_ones(db):
    schema = _schema()
    dossier = schema["components"]["schemas"]["Dossier"]["properties"]
    assert dossier["assignee"].get("nullable") is True
    assert dossier["current_step"].get("nullable") is True
    assert dossier["form_data"]["type"] == "object"
    create = schema["components"]["schemas"]["DossierCreateApiInput"]
    assert create["properties"]["form_data"]["type"] == "object"
    download = schema["paths"]["/api/v1/documents/{document_id}/download/"]["get"]
    assert set(download["responses"]["200"]["content"]) == {
        "application/pdf", "image/jpeg", "image/png"}
    slip = schema["paths"]["/api/v1/dossiers/{dossier_id}/slips/receipt/"]["get"]
    assert 409 in _error_statuses(slip)

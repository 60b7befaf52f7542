"""HTTP for signatures: the public verification endpoint."""

from django.conf import settings

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.api.mixins import PublicApi
from portal.api.throttling import ClientRateThrottle

from ..services import signature_verify
from ..uploads import check_body_size, read_upload


class VerifyThrottle(ClientRateThrottle):
    scope = "signature_verify"

    def get_rate(self) -> str:
        return settings.SIGNATURES_VERIFY_RATE


class SignatureVerifyApi(PublicApi):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [VerifyThrottle]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        detached = serializers.FileField(required=False, allow_empty_file=True)

    class OutputSerializer(serializers.Serializer):
        filename = serializers.CharField()
        sha256 = serializers.CharField()
        kind = serializers.CharField()
        readable = serializers.BooleanField()
        verdict = serializers.CharField(allow_null=True)
        issued_by_us = serializers.BooleanField()
        signatures = serializers.ListField(child=serializers.DictField())
        review = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer, auth=[])
    def post(self, request) -> Response:
        check_body_size(request)  # the throttle has run; the body is not read yet
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        content = read_upload(data["file"], field="file")
        detached = data.get("detached")
        result = signature_verify(
            content=content,
            filename=data["file"].name,
            detached=read_upload(detached, field="detached") if detached is not None else None,
        )
        return Response(result.as_dict())

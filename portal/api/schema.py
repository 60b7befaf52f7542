"""OpenAPI generation: nested `InputSerializer`s are named after the view that owns them, and
every operation documents the error answers it can give, in the one error shape.

The error answers are a default of the schema class, so an endpoint added later documents them
without doing anything: which ones follow from the view (who may call it, whether it changes
something, takes a file upload, is throttled). A view adds the rarer ones its services give
(402 fee unpaid, 502/503 an outside system failed) with `error_statuses = (...)`; what a view
declares itself with @extend_schema for a status is kept.
"""

from http import HTTPStatus

from drf_spectacular.authentication import BasicScheme, SessionScheme, TokenScheme
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (portal.api.exception_handler)."""

    code = serializers.CharField(
        help_text="Stable machine-readable code: validation_error, not_authenticated, "
                  "permission_denied, not_found, dossier_not_found, invalid_transition, "
                  "stale_version, missing_documents, payment_required, throttled, ..."
    )
    message = serializers.CharField(help_text="What went wrong, in the user's language.")
    extra = serializers.DictField(
        help_text="Details by code: `fields` (each field's messages) for validation_error, "
                  "the limits for file_too_large, the accepted types for unsupported_file_type."
    )


ERROR_DESCRIPTIONS = {
    400: "Invalid request (validation_error with extra.fields, or a domain rule such as "
         "invalid_form_data, reason_required, invalid_document).",
    401: "Credentials were sent and are wrong (authentication_failed).",
    402: "The fee must be paid first (payment_required).",
    403: "Not signed in, the CSRF token is missing, or the user's role may not do this "
         "(not_authenticated, permission_denied).",
    404: "No such object, or not one the user may see (not_found, dossier_not_found, ...).",
    409: "The object's state or version does not allow this now (invalid_transition, "
         "stale_version, ...).",
    413: "The uploaded file or the request is too large (file_too_large).",
    415: "The request's content type, or the uploaded file's type judged from its content, "
         "is not accepted (unsupported_media_type, unsupported_file_type).",
    422: "Understood but not possible for this object (missing_documents, signature_required, "
         "idempotency_key_reused, ...).",
    429: "Too many requests from this client; retry after the Retry-After header (throttled).",
    502: "An outside system (payment platform, signing service) answered with an error.",
    503: "An outside system or a configured service is unavailable; retry later.",
}
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _takes_files(request) -> bool:
    serializer = force_instance(request)
    fields = serializer.fields.values() if is_serializer(serializer) else ()
    return any(isinstance(field, serializers.FileField) for field in fields)


class AutoSchema(BaseAutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname:  # DossierClaimApi.InputSerializer -> DossierClaimApiInput
            owner = qualname.rsplit(".", 1)[0].replace(".", "").lstrip("_")
            return f"{owner}{name}"
        return name

    def error_statuses(self) -> set[int]:
        """The error statuses this operation can answer with."""
        view = self.view
        statuses = {400, 404}
        if not all(issubclass(p, AllowAny) for p in getattr(view, "permission_classes", [])):
            statuses |= {401, 403}
        if self.method in UNSAFE_METHODS:
            statuses |= {409, 422}
            request = self.get_request_serializer()
            if request is not None:
                statuses.add(415)
            if _takes_files(request):
                statuses.add(413)
        if getattr(view, "throttle_classes", None):
            statuses.add(429)
        statuses |= set(getattr(view, "error_statuses", ()))
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in sorted(self.error_statuses()):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS.get(
                        status, HTTPStatus(status).phrase)),
                    str(status), direction=direction,
                )
        return responses


class VerifiedSessionScheme(SessionScheme):
    """The pages' session cookie; staff sessions count once their second factor is given."""

    target_class = "portal.api.authentication.VerifiedSessionAuthentication"


class ApiTokenScheme(TokenScheme):
    target_class = "portal.api.authentication.ApiTokenAuthentication"


class DebugBasicScheme(BasicScheme):
    target_class = "portal.api.authentication.DebugBasicAuthentication"

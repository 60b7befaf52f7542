"""The one DRF exception handler: every error leaves as {"code", "message", "extra"}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.exceptions import DomainError

log = logging.getLogger(__name__)


def error_body(code: str, message, extra: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "extra": extra or {}}


def _detail_code(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _detail_code(value)
    if isinstance(detail, list) and detail:
        return _detail_code(detail[0])
    return getattr(detail, "code", None) or "invalid"


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.extra), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            error_body("validation_error", _("Dữ liệu không hợp lệ."), {"fields": fields}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TransitionNotAllowed | ConcurrentTransition):
        return Response(
            error_body("invalid_transition", _("Thao tác không hợp lệ ở trạng thái hiện tại.")),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "validation_error", _("Dữ liệu không hợp lệ."), {"fields": exc.detail}
        )
        return response
    codes = {
        exceptions.NotAuthenticated: "not_authenticated",
        exceptions.AuthenticationFailed: "authentication_failed",
        exceptions.PermissionDenied: "permission_denied",
        exceptions.NotFound: "not_found",
        exceptions.MethodNotAllowed: "method_not_allowed",
        exceptions.Throttled: "throttled",
        exceptions.UnsupportedMediaType: "unsupported_media_type",
        exceptions.ParseError: "parse_error",
    }
    code = next((c for cls, c in codes.items() if isinstance(exc, cls)), None)
    code = code or _detail_code(getattr(exc, "detail", None))
    detail = getattr(exc, "detail", "")
    response.data = error_body(code, detail if isinstance(detail, str) else str(detail))
    return response

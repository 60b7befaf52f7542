"""Error pages (JSON under /api/) and the health check; the pages themselves live in web."""

from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """A JSON error body under /api/, Django's page elsewhere."""
    if _wants_json(request):
        return JsonResponse(
            {"code": "not_found", "message": _("Không tìm thấy địa chỉ yêu cầu."), "extra": {}},
            status=404,
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {"code": "server_error",
             "message": _("Lỗi hệ thống; yêu cầu chưa được thực hiện. Vui lòng thử lại sau."),
             "extra": {}},
            status=500,
        )
    return defaults.server_error(request)


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})

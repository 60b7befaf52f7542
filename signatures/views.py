"""The public verification page: upload a file, read the report; a QR code lands here too."""

import math

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from rest_framework.request import Request

from .api.views import VerifyThrottle
from .exceptions import UnsupportedFormat, UploadTooLarge
from .selectors import issued_document_by_code
from .services import signature_verify
from .uploads import check_body_size, read_upload


def _page(request, *, result=None, error=None, status: int = 200):
    context = {
        "result": result, "error": error,
        "issued": issued_document_by_code(code=request.GET.get("ma", "").strip()),
    }
    return render(request, "signatures/verify.html", context, status=status)


def _throttled(request) -> float | None:
    """The verification API's throttle, counted in the same place: the seconds to wait, or
    None when the request may go on. The page is throttled as an anonymous client, as the
    API is, whoever is signed in."""
    throttle = VerifyThrottle()
    if throttle.allow_request(Request(request, authenticators=()), None):
        return None
    return throttle.wait() or 1.0


# CSRF is checked by the inner view: checking it here would read (and store) the whole body
# before its size is known. The outer view reads nothing but the headers.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def verify_page(request):
    if request.method == "POST":
        wait = _throttled(request)
        if wait is not None:
            response = _page(request, error=_("Quá nhiều yêu cầu kiểm tra; vui lòng thử lại "
                                              "sau ít phút."), status=429)
            response["Retry-After"] = str(math.ceil(wait))
            return response
        try:
            check_body_size(request)
        except UploadTooLarge as exc:
            return _page(request, error=exc.message, status=exc.http_status)
        # Files go to a temporary file while the body is parsed, never whole into memory.
        request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _verify(request)


@csrf_protect
def _verify(request):
    if request.method != "POST" or "file" not in request.FILES:
        return _page(request)
    upload = request.FILES["file"]
    detached = request.FILES.get("detached")
    try:
        result = signature_verify(
            content=read_upload(upload, field="file"), filename=upload.name,
            detached=read_upload(detached, field="detached") if detached else None,
        )
    except (UnsupportedFormat, UploadTooLarge) as exc:
        return _page(request, error=exc.message, status=exc.http_status)
    return _page(request, result=result)

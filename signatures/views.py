"""The public verification page: upload a file, read the report; a QR code lands here too."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .exceptions import UnsupportedFormat
from .selectors import issued_document_by_code
from .services import signature_verify


@require_http_methods(["GET", "POST"])
def verify_page(request):
    context = {"result": None, "error": None, "issued": None}
    context["issued"] = issued_document_by_code(code=request.GET.get("ma", "").strip())
    if request.method == "POST" and "file" in request.FILES:
        upload = request.FILES["file"]
        detached = request.FILES.get("detached")
        try:
            context["result"] = signature_verify(
                content=upload.read(), filename=upload.name,
                detached=detached.read() if detached else None,
            )
        except UnsupportedFormat as exc:
            context["error"] = exc.message
    return render(request, "signatures/verify.html", context,
                  status=400 if context["error"] else 200)

"""A staff member who gave their password but not yet their code reaches only the second
step (or its enrolment), sign-out and the language switch; the API answers 403 itself."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal.signin import second_factor_pending


def _open_paths() -> tuple[set[str], tuple[str, ...]]:
    exact = {reverse(name) for name in (
        "web:login", "web:logout", "web:second_factor", "web:second_factor_enrol",
        "web:second_factor_qr", "set_language", "health")}
    exact.add("/favicon.ico")
    return exact, ("/" + settings.STATIC_URL.strip("/") + "/", "/api/")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._open = None

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and second_factor_pending(user):
            if self._open is None:
                self._open = _open_paths()
            exact, prefixes = self._open
            if request.path not in exact and not request.path.startswith(prefixes):
                return self._to_second_step(request)
        return self.get_response(request)

    @staticmethod
    def _to_second_step(request):
        target = reverse("web:second_factor")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)

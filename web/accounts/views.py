"""Sign-in and sign-out for local accounts (username and password)."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.identity import oidc_enabled

from ..access import home_for
from .forms import SignInForm


class SignInView(LoginView):
    template_name = "web/accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return home_for(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"oidc_enabled": oidc_enabled()}


login_view = SignInView.as_view()


@require_http_methods(["GET", "POST"])
def logout_view(request):
    """GET asks to confirm (a link cannot sign anyone out); POST signs out."""
    if request.method == "POST":
        logout(request)
        return redirect("/")
    if not request.user.is_authenticated:
        return redirect("/")
    return render(request, "web/accounts/logout.html", {"title": _("Đăng xuất")})

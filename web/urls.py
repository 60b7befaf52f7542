"""The pages people use; each area keeps its own addresses and namespace."""

from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from .accounts import oidc
from .accounts import views as accounts

app_name = "web"

urlpatterns = [
    path("dang-nhap/", accounts.login_view, name="login"),
    path("dang-xuat/", accounts.logout_view, name="logout"),
    path("dang-nhap/dinh-danh/", oidc.start_view, name="oidc_start"),
    path("dang-nhap/dinh-danh/ket-qua/", oidc.callback_view, name="oidc_callback"),
    path("favicon.ico", RedirectView.as_view(url=static("web/img/favicon.ico"), permanent=True)),
    path("", include(("web.public.urls", "public"))),
    path("", include(("web.applicant.urls", "applicant"))),
    path("can-bo/", include(("web.officers.urls", "officers"))),
    path("quan-ly/", include(("web.managers.urls", "managers"))),
]

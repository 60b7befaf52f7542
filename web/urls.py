"""The pages people use; each area keeps its own addresses and namespace."""

from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from .accounts import oidc
from .accounts import views as accounts
from .second_factor import views as second_factor

app_name = "web"

urlpatterns = [
    path("dang-nhap/", accounts.login_view, name="login"),
    path("dang-xuat/", accounts.logout_view, name="logout"),
    path("dang-nhap/dinh-danh/", oidc.start_view, name="oidc_start"),
    path("dang-nhap/dinh-danh/ket-qua/", oidc.callback_view, name="oidc_callback"),
    path("dang-nhap/ma-xac-thuc/", second_factor.verify, name="second_factor"),
    path("dang-nhap/thiet-lap-xac-thuc/", second_factor.enrol, name="second_factor_enrol"),
    path("dang-nhap/thiet-lap-xac-thuc/ma-qr.svg", second_factor.enrol_qr,
         name="second_factor_qr"),
    path("favicon.ico", RedirectView.as_view(url=static("web/img/favicon.ico"), permanent=True)),
    path("", include(("web.public.urls", "public"))),
    path("", include(("web.applicant.urls", "applicant"))),
    path("can-bo/", include(("web.officers.urls", "officers"))),
    path("quan-ly/", include(("web.managers.urls", "managers"))),
]

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from drf_spectacular.views import SpectacularAPIView

from . import views
from .api.docs import SwaggerUiView

api_v1 = [
    path("", include("dossiers.api.urls")),
    path("signatures/", include("signatures.api.urls")),
]

urlpatterns = [
    path("health/", views.health, name="health"),
    path("xac-thuc/", include("signatures.urls")),
    # One sign-in for everyone, with its second step: the admin's own form is not used.
    path("admin/login/", RedirectView.as_view(url="/dang-nhap/", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/auth/", include("rest_framework.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("web.urls")),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"

"""The portal's URLs plus the bare create endpoint the submission figure is compared with."""

from django.urls import include, path

from bench.bare import BareCreateApi

urlpatterns = [
    path("bench/bare-create/", BareCreateApi.as_view()),
    path("", include("portal.urls")),
]

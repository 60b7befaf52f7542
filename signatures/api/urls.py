from django.urls import path

from . import views

app_name = "signatures"

urlpatterns = [
    path("verify/", views.SignatureVerifyApi.as_view(), name="verify"),
]

"""Endpoints that external systems call: inbound dossiers, payment callbacks and queries."""

from django.urls import path, re_path

from integrations.base import NATIONAL, PROVINCIAL

from .views import integrations as v

app_name = "integrations"

urlpatterns = [
    path("national/dossiers/", v.InboundDossierApi.as_view(), {"system": NATIONAL},
         name="national_dossier"),
    path("provincial/dossiers/", v.InboundDossierApi.as_view(), {"system": PROVINCIAL},
         name="provincial_dossier"),
    # The slash is optional: the payment settings strip it from PAYMENT_NOTIFY_URL, and a
    # POST redirected to the slashed URL would arrive as a GET.
    re_path(r"^payments/callback/?$", v.PaymentCallbackApi.as_view(), name="payment_callback"),
    re_path(r"^payments/status/?$", v.PaymentStatusQueryApi.as_view(), name="payment_status"),
    path("payments/<int:payment_id>/return/", v.PaymentReturnApi.as_view(),
         name="payment_return"),
]

"""Applicant pages: filing (the wizard) and the life of a filed dossier."""

from django.urls import include, path

urlpatterns = [
    path("", include("web.applicant.urls_filing")),
    path("", include("web.applicant.urls_dossier")),
]

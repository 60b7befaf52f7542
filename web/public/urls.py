"""The public pages: the catalog, a procedure, the status lookup."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("thu-tuc/<int:procedure_id>/", views.procedure, name="procedure"),
    path("tra-cuu/", views.lookup, name="lookup"),
]

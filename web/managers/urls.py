"""Pages of this area: the service indicators for supervisors (leaders and managers)."""

from django.urls import path

from . import views

urlpatterns = [
    path("chi-so/", views.dashboard, name="dashboard"),
    path("chi-so/xuat.csv", views.export_csv, name="export_csv"),
    path("chi-so/xuat.xlsx", views.export_xlsx, name="export_xlsx"),
    path("ho-so/", views.dossier_list, name="dossiers"),
]

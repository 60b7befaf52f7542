"""Pages of this area: the service indicators for supervisors (leaders and managers)."""

from django.urls import path

from . import scorecard, views

urlpatterns = [
    path("chi-so/", views.dashboard, name="dashboard"),
    path("chi-so/xuat.csv", views.export_csv, name="export_csv"),
    path("chi-so/xuat.xlsx", views.export_xlsx, name="export_xlsx"),
    path("ho-so/", views.dossier_list, name="dossiers"),
    path("chi-so/bang-diem/", scorecard.scorecard_page, name="scorecard"),
    path("chi-so/bang-diem/ho-so/", scorecard.scorecard_dossiers, name="scorecard_dossiers"),
]

"""HTML pages; mounted at /xac-thuc/ by the project URLconf."""

from django.urls import path

from . import views

app_name = "signatures_pages"

urlpatterns = [path("", views.verify_page, name="verify")]

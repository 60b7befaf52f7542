"""Home page and health check."""

from django.apps import apps
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def home(request):
    # The kernel reads the catalog through the app registry, so it imports no domain app.
    procedure = apps.get_model("dossiers", "Procedure")
    procedures = procedure.objects.filter(is_active=True).select_related("agency").order_by(
        "sector", "name"
    )
    return render(request, "portal/home.html", {"procedures": procedures})


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})

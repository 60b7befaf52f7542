"""Endpoints that external systems call: inbound dossiers, payment callbacks and queries."""

app_name = "integrations"

urlpatterns: list = []

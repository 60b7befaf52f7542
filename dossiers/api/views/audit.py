"""One dossier's history with its hash chain, as a file anyone can verify offline."""

import json

from django.http import HttpResponse

from drf_spectacular.utils import OpenApiResponse, extend_schema

from portal.api.mixins import OfficerApi

from ... import selectors, services


class DossierAuditExportApi(OfficerApi):
    """The dossier's transition log rows and their hash chain (JSON), for officers of its
    agency; check it with `python tools/verify_audit_export.py FILE`."""

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(
        description="The export: format, hashing, dossier, exported_at, head, rows.")})
    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        services.personal_data_read_record(request, dossier=dossier, what="history")
        body = json.dumps(services.audit_export(dossier=dossier), ensure_ascii=False, indent=2)
        response = HttpResponse(body.encode(), content_type="application/json; charset=utf-8")
        name = f"nhat-ky-{dossier.code or dossier.pk}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

"""The five slips of Circular 01/2018 as PDFs, scoped like the dossier itself."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission

from portal.api.mixins import AuthenticatedApi
from portal.api.schema import ErrorSerializer
from portal.downloads import bytes_download
from portal.roles import Role

from ... import selectors
from ...models import PersonalDataAccess
from ...services import personal_data_read_record, slips


class ReadsDossiers(BasePermission):
    """Applicants (their own dossiers), officers and managers (their agency's); an
    administrator configures the portal and reads no dossier."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated
                    and user.has_role(Role.APPLICANT, *Role.OFFICERS, Role.MANAGER))


_ERRORS = {
    403: OpenApiResponse(ErrorSerializer, description="Not a role that reads dossiers."),
    404: OpenApiResponse(ErrorSerializer,
                         description="No such dossier, or not the user's to see."),
    409: OpenApiResponse(
        ErrorSerializer, description="The slip does not apply to the dossier in its state "
                    "(code `invalid_transition`)."),
}


class _SlipApi(AuthenticatedApi):
    permission_classes = [*AuthenticatedApi.permission_classes, ReadsDossiers]
    slip = ""

    def get(self, request, dossier_id: int):
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        officer = dossier.applicant_id != request.user.pk
        content = slips.slip_render(dossier=dossier, name=self.slip, officer=officer)
        personal_data_read_record(request, dossier=dossier, what=PersonalDataAccess.What.SLIP)
        filename = f"{slips.SLIP_FILES[self.slip]}-{dossier.code}.pdf"
        return bytes_download(content, filename=filename)


def _slip_api(name: str, doc: str):
    def get(self, request, dossier_id: int):
        return _SlipApi.get(self, request, dossier_id)

    get = extend_schema(
        summary=slips.SLIP_TITLES[name], operation_id=f"dossier_slip_{name}",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **_ERRORS},
    )(get)
    return type(f"Dossier{name.title()}SlipApi", (_SlipApi,),
                {"slip": name, "__doc__": doc, "get": get})


SLIP_VIEWS = {
    "receipt": _slip_api("receipt", "Form 01: receipt and appointment, once received."),
    "completion": _slip_api(
        "completion", "Form 02: request to complete (at reception) or supplement (in "
        "processing) the dossier: what is missing, why, and by when."),
    "refusal": _slip_api("refusal", "Form 03: refusal to receive, with the reason."),
    "apology": _slip_api(
        "apology", "Form 04: apology and new appointment; the applicant gets it once a "
        "leader approved it, officers also see the draft."),
    "control": _slip_api(
        "control", "Form 05: process control: every handover, who gave and who took the "
        "dossier, when, the step's due time and whether it was early, on time or late."),
}

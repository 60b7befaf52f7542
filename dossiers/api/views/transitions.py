"""One endpoint per workflow transition, and the idempotent submit."""

import contextlib

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from portal.api.fields import ID_MAX
from portal.api.mixins import AuthenticatedApi
from portal.api.permissions import IsApplicant
from portal.roles import Role

from ... import selectors, services
from ...exceptions import DossierNotFound, InvalidFormData
from ...models import Dossier, Result
from ...services.transitions import SPECS
from ..serializers import DossierOwnerSerializer, DossierSerializer
from ._common import _serialize, _validated

# --- transitions ---------------------------------------------------------------------


class _TransitionApi(AuthenticatedApi):
    """Base of the one-view-per-transition endpoints; subclasses name their service."""

    service = None
    # Submitting, resubmitting or handing over the result may wait on the fee.
    error_statuses = (402,)

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
        reason = serializers.CharField(required=False, default="", allow_blank=True,
                                       max_length=4000)

    name = ""

    def call(self, request, dossier: Dossier, data: dict) -> Dossier:
        kwargs = {"version": data.get("version")}
        if SPECS[self.name].takes_reason:
            kwargs["reason"] = data.get("reason", "")
        return self.service(dossier_id=dossier.pk, actor=request.user, **kwargs)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        dossier = self.call(request, dossier, data)
        # The move may take the dossier out of the actor's sight (a proposal leaves the
        # unit's step): then the answer shows it as the move left it.
        with contextlib.suppress(DossierNotFound):
            dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier.pk)
        return Response(_serialize(dossier, request.user))


def _transition_api(name: str, service, *, base=_TransitionApi, error_statuses=None):
    attrs = {"service": staticmethod(service), "name": name, "__doc__": service.__doc__}
    if error_statuses:
        attrs["error_statuses"] = error_statuses
    return type(f"Dossier{name.title().replace('_', '')}Api", (base,), attrs)


class DossierSubmitApi(_TransitionApi):
    """Submit a draft; honours an Idempotency-Key header."""

    permission_classes = [*AuthenticatedApi.permission_classes, IsApplicant]
    service = staticmethod(services.dossier_submit)
    name = "submit"

    @extend_schema(request=_TransitionApi.InputSerializer, responses=DossierOwnerSerializer)
    def post(self, request, dossier_id: int):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self.submit(request, dossier_id)
        if len(key) > 255:
            raise InvalidFormData("Idempotency-Key quá dài.")
        scope = f"submit:{dossier_id}"
        fingerprint = services.request_fingerprint(scope=scope, body=request.data)
        record = services.idempotency_lookup(
            user=request.user, key=key, scope=scope, fingerprint=fingerprint
        )
        if record is not None:
            return Response(record.response_body, status=record.response_status,
                            headers={"Idempotent-Replayed": "true"})
        response = self.submit(request, dossier_id)
        services.idempotency_store(
            user=request.user, key=key, scope=scope, fingerprint=fingerprint,
            status=response.status_code, body=response.data,
        )
        return response

    def submit(self, request, dossier_id: int) -> Response:
        """The applicant's own draft is read once, locked, by the service (another's is a 404)
        and answered as the submit left it; staff scoping keeps the general path."""
        if request.user.has_role(*Role.STAFF):
            return super().post(request, dossier_id)
        data = _validated(self.InputSerializer, request.data)
        dossier = services.dossier_submit(dossier_id=dossier_id, actor=request.user,
                                          version=data.get("version"), owner_only=True)
        return Response(_serialize(dossier, request.user))


DossierResubmitApi = _transition_api("resubmit", services.dossier_resubmit)
DossierReturnForCompletionApi = _transition_api(
    "return_for_completion", services.dossier_return_for_completion
)
DossierRefuseAtReceptionApi = _transition_api(
    "refuse_at_reception", services.dossier_refuse_at_reception
)
DossierAcceptApi = _transition_api("accept", services.dossier_accept)
class DossierRequestSupplementApi(_TransitionApi):
    """The specialist asks for a supplement: `reason` lists what is missing, one line each with
    why; `reply_by` is the deadline (default: the procedure's reply time)."""

    service = staticmethod(services.dossier_request_supplement)
    name = "request_supplement"

    class InputSerializer(_TransitionApi.InputSerializer):
        reply_by = serializers.DateTimeField(required=False)

    def call(self, request, dossier: Dossier, data: dict) -> Dossier:
        return self.service(dossier_id=dossier.pk, actor=request.user,
                            version=data.get("version"), reason=data.get("reason", ""),
                            reply_by=data.get("reply_by"))

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        data = _validated(self.InputSerializer, request.data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier_id)
        dossier = self.call(request, dossier, data)
        dossier = selectors.dossier_get_for(user=request.user, dossier_id=dossier.pk)
        return Response(_serialize(dossier, request.user))


DossierSupplyApi = _transition_api("supply", services.dossier_supply)
DossierSuspendApi = _transition_api("suspend", services.dossier_suspend)
DossierResumeApi = _transition_api("resume", services.dossier_resume)
DossierAdvanceStepApi = _transition_api("advance_step", services.dossier_advance_step)
DossierProposeApi = _transition_api("propose", services.dossier_propose)
DossierSendBackApi = _transition_api("send_back", services.dossier_send_back)
DossierApproveApi = _transition_api("approve", services.dossier_approve)
# The refusal is a signed paper: the agency's signing service may fail or be unavailable.
DossierRefuseApi = _transition_api("refuse", services.dossier_refuse,
                                   error_statuses=(402, 502, 503))
DossierReturnResultApi = _transition_api("return_result", services.dossier_return_result)
# A supplement unanswered past its deadline: reception returns the dossier, or the leader
# refuses it with the signed notice (whichever the procedure names; 409 otherwise).
DossierReturnUnansweredApi = _transition_api("return_unanswered",
                                             services.dossier_return_unanswered)
DossierRefuseUnansweredApi = _transition_api("refuse_unanswered",
                                             services.dossier_refuse_unanswered,
                                             error_statuses=(402, 502, 503))
DossierWithdrawApi = _transition_api("withdraw", services.dossier_withdraw)


class DossierIssueResultApi(_TransitionApi):
    service = staticmethod(services.dossier_issue_result)
    name = "issue_result"
    error_statuses = (402, 502, 503)  # the agency's signing service failed or is unavailable

    class InputSerializer(_TransitionApi.InputSerializer):
        kind = serializers.ChoiceField(choices=Result.Kind.choices, default=Result.Kind.LICENCE)
        number = serializers.CharField(required=False, default="", allow_blank=True,
                                       max_length=64)

    @extend_schema(request=InputSerializer, responses=DossierSerializer)
    def post(self, request, dossier_id: int):
        return super().post(request, dossier_id)

    def call(self, request, dossier, data):
        return services.dossier_issue_result(
            dossier_id=dossier.pk, actor=request.user, kind=data["kind"],
            number=data["number"], version=data.get("version"),
        )

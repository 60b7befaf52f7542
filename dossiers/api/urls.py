from django.urls import include, path

from . import views as v
from .views.slips import SLIP_VIEWS

app_name = "dossiers"

TRANSITIONS = {
    "submit": v.DossierSubmitApi,
    "resubmit": v.DossierResubmitApi,
    "return_for_completion": v.DossierReturnForCompletionApi,
    "refuse_at_reception": v.DossierRefuseAtReceptionApi,
    "accept": v.DossierAcceptApi,
    "request_supplement": v.DossierRequestSupplementApi,
    "supply": v.DossierSupplyApi,
    "suspend": v.DossierSuspendApi,
    "resume": v.DossierResumeApi,
    "advance_step": v.DossierAdvanceStepApi,
    "propose": v.DossierProposeApi,
    "send_back": v.DossierSendBackApi,
    "approve": v.DossierApproveApi,
    "refuse": v.DossierRefuseApi,
    "issue_result": v.DossierIssueResultApi,
    "return_result": v.DossierReturnResultApi,
    "withdraw": v.DossierWithdrawApi,
    "return_unanswered": v.DossierReturnUnansweredApi,
    "refuse_unanswered": v.DossierRefuseUnansweredApi,
}

urlpatterns = [
    path("procedures/", v.ProcedureListApi.as_view(), name="procedures"),
    path("procedures/<int:procedure_id>/", v.ProcedureDetailApi.as_view(), name="procedure"),
    path("dossiers/", v.DossierListApi.as_view(), name="list"),
    path("dossiers/new/", v.DossierCreateApi.as_view(), name="create"),
    path("dossiers/lookup/", v.DossierLookupApi.as_view(), name="lookup"),
    path("dossiers/<int:dossier_id>/", v.DossierDetailApi.as_view(), name="detail"),
    path("dossiers/<int:dossier_id>/form/", v.DossierFormUpdateApi.as_view(), name="form"),
    path("dossiers/<int:dossier_id>/documents/", v.DocumentListApi.as_view(), name="documents"),
    path("dossiers/<int:dossier_id>/documents/upload/", v.DocumentUploadApi.as_view(),
         name="upload"),
    path("dossiers/<int:dossier_id>/timeline/", v.DossierTimelineApi.as_view(), name="timeline"),
    path("dossiers/<int:dossier_id>/result/", v.DossierResultApi.as_view(), name="result"),
    path("dossiers/<int:dossier_id>/payment/", v.PaymentStartApi.as_view(), name="pay"),
    path("dossiers/<int:dossier_id>/rating/", v.RatingCreateApi.as_view(), name="rate"),
    path("dossiers/<int:dossier_id>/claim/", v.DossierClaimApi.as_view(), name="claim"),
    path("dossiers/<int:dossier_id>/assign/", v.DossierAssignApi.as_view(), name="assign"),
    path("dossiers/<int:dossier_id>/apology/", v.ApologyDraftApi.as_view(), name="apology"),
    path("dossiers/<int:dossier_id>/apology/approve/", v.ApologyApproveApi.as_view(),
         name="apology_approve"),
    *[
        path(f"dossiers/<int:dossier_id>/{name.replace('_', '-')}/", view.as_view(), name=name)
        for name, view in TRANSITIONS.items()
    ],
    path("documents/<int:document_id>/download/", v.DocumentDownloadApi.as_view(),
         name="download"),
    path("documents/<int:document_id>/signature-decision/",
         v.DocumentSignatureDecisionApi.as_view(), name="signature_decision"),
    path("dossiers/<int:dossier_id>/result/file/", v.DossierResultFileApi.as_view(),
         name="result_file"),
    *[
        path(f"dossiers/<int:dossier_id>/slips/{name}/", view.as_view(), name=f"{name}_slip")
        for name, view in SLIP_VIEWS.items()
    ],
    path("intake/", v.IntakeApi.as_view(), name="intake"),
    path("dossiers/<int:dossier_id>/hand-over-refusal/", v.RefusalHandOverApi.as_view(),
         name="hand_over_refusal"),
    path("dossiers/<int:dossier_id>/rating/desk/", v.DeskRatingApi.as_view(),
         name="desk_rating"),
    path("dossiers/<int:dossier_id>/audit-export/", v.DossierAuditExportApi.as_view(),
         name="audit_export"),
    path("queue/", v.QueueApi.as_view(), name="queue"),
    path("indicators/", v.IndicatorsApi.as_view(), name="indicators"),
    path("indicators.csv", v.IndicatorsCsvApi.as_view(), name="indicators_csv"),
    path("indicators/scorecard/", v.ScorecardApi.as_view(), name="scorecard"),
    path("indicators/scorecard/<slug:group>/<slug:count>/", v.ScorecardListApi.as_view(),
         name="scorecard_list"),
    path("overdue.csv", v.OverdueCsvApi.as_view(), name="overdue_csv"),
    path("inbound/", include("dossiers.api.urls_integrations")),
]

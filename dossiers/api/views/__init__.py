"""HTTP for dossiers: one APIView per action, each validate / select / call / serialize."""

from .applicant import (
    DocumentDownloadApi,
    DocumentListApi,
    DocumentUploadApi,
    DossierCreateApi,
    DossierDetailApi,
    DossierFormUpdateApi,
    DossierListApi,
    DossierResultApi,
    DossierResultFileApi,
    DossierTimelineApi,
    PaymentStartApi,
    ProcedureDetailApi,
    ProcedureListApi,
    RatingCreateApi,
)
from .audit import DossierAuditExportApi
from .desk import DeskRatingApi, IntakeApi, RefusalHandOverApi
from .indicators import IndicatorsApi, IndicatorsCsvApi, OverdueCsvApi
from .officers import (
    ApologyApproveApi,
    ApologyDraftApi,
    DocumentSignatureDecisionApi,
    DossierAssignApi,
    DossierClaimApi,
    DossierLookupApi,
    QueueApi,
)
from .scorecard import ScorecardApi, ScorecardListApi
from .transitions import (
    DossierAcceptApi,
    DossierAdvanceStepApi,
    DossierApproveApi,
    DossierIssueResultApi,
    DossierProposeApi,
    DossierRefuseApi,
    DossierRefuseAtReceptionApi,
    DossierRefuseUnansweredApi,
    DossierRequestSupplementApi,
    DossierResubmitApi,
    DossierResumeApi,
    DossierReturnForCompletionApi,
    DossierReturnResultApi,
    DossierReturnUnansweredApi,
    DossierSendBackApi,
    DossierSubmitApi,
    DossierSupplyApi,
    DossierSuspendApi,
    DossierWithdrawApi,
)

__all__ = [
    "DeskRatingApi", "IntakeApi", "RefusalHandOverApi",
    "DossierAuditExportApi",
    "ApologyApproveApi", "ApologyDraftApi", "DocumentDownloadApi", "DocumentListApi",
    "DocumentUploadApi", "DossierAcceptApi", "DossierAdvanceStepApi", "DossierApproveApi", "DossierAssignApi",
    "DossierClaimApi", "DossierCreateApi", "DossierDetailApi", "DossierFormUpdateApi",
    "DossierIssueResultApi", "DossierListApi", "DossierLookupApi", "DossierProposeApi",
    "DossierRefuseApi", "DossierRefuseAtReceptionApi", "DossierRequestSupplementApi",
    "DossierRefuseUnansweredApi", "DossierReturnUnansweredApi",
    "DocumentSignatureDecisionApi", "DossierResubmitApi", "DossierResultApi",
    "DossierResultFileApi", "DossierResumeApi",
    "DossierReturnForCompletionApi", "DossierReturnResultApi", "DossierSendBackApi",
    "DossierSubmitApi", "DossierSupplyApi", "DossierSuspendApi", "DossierTimelineApi",
    "DossierWithdrawApi", "IndicatorsApi", "IndicatorsCsvApi", "OverdueCsvApi", "ScorecardApi",
    "ScorecardListApi",
    "PaymentStartApi", "ProcedureDetailApi", "ProcedureListApi", "QueueApi", "RatingCreateApi",
]

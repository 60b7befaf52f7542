"""The domain models, one module per sub-domain, re-exported here."""

from .access_log import PersonalDataAccess
from .catalog import (
    Agency,
    AgencySeason,
    DocumentComponent,
    HolidayOverride,
    Procedure,
    ProcessStep,
    Unit,
    form_properties,
)
from .documents import (
    Document,
    _document_path,  # noqa: F401 - migrations name it by this path
)
from .dossier import (
    ClockInterval,
    DailyCounter,
    Dossier,
    DossierTransition,
    _new_lookup_secret,  # noqa: F401 - migrations name it by this path
)
from .indicators import DailySummary, MonthlySummary
from .messaging import IdempotencyRecord, InboundCall, OutboundMessage
from .notifications import Notification
from .payments import Payment
from .results import ApologySlip, Rating, Result
from .steps import StepRecord
from .supplements import SupplementRequest

__all__ = [
    "form_properties",
    "Agency",
    "AgencySeason",
    "ApologySlip",
    "ClockInterval",
    "DailyCounter",
    "DailySummary",
    "Document",
    "DocumentComponent",
    "Dossier",
    "DossierTransition",
    "HolidayOverride",
    "IdempotencyRecord",
    "InboundCall",
    "MonthlySummary",
    "Notification",
    "OutboundMessage",
    "Payment",
    "PersonalDataAccess",
    "Procedure",
    "ProcessStep",
    "Rating",
    "Result",
    "StepRecord",
    "SupplementRequest",
    "Unit",
]

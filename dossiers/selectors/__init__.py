"""Reads of the dossier domain, each scoped to what the user may see: dossiers and documents
(`scoping`), the officers' queue (`queues`), the indicators and the overdue list
(`indicators`)."""

from .indicators import GROUPS, indicators, overdue_list, overdue_rows, scope_agency_code
from .queues import QUEUE_FILTERS, QueuePage, dossier_queue
from .scoping import (
    document_get_for,
    dossier_documents,
    dossier_get_for,
    dossier_history,
    dossier_list_for,
    dossier_lookup,
    dossier_result,
    procedure_list,
)

__all__ = [
    "GROUPS", "QUEUE_FILTERS", "QueuePage", "document_get_for", "dossier_documents",
    "dossier_get_for", "dossier_history", "dossier_list_for", "dossier_lookup", "dossier_queue",
    "dossier_result", "indicators", "overdue_list", "overdue_rows", "procedure_list",
    "scope_agency_code",
]

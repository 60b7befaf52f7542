"""Writes of the dossier domain: catalog, drafting, workflow, documents, payments, queues."""

from .access_log import personal_data_read_record
from .apology import apology_approve, apology_draft
from .audit import audit_verify, transition_log_append
from .audit_export import audit_export
from .calendars import calendar_for, calendars_by_agency
from .catalog import catalog_load
from .desk import dossier_hand_over_refusal, rating_record_at_desk
from .documents import document_upload
from .idempotency import idempotency_lookup, idempotency_store, request_fingerprint
from .indicators import summary_add
from .intake import dossier_hand_over, intake_register
from .notifications import (
    notification_deliver,
    notification_send_overdue,
    notification_send_transition,
    notifications_sweep,
)
from .payments import payment_confirm, payment_record_at_counter, payment_start
from .queue import dossier_assign, dossier_claim, dossier_flag_overdue, rating_create
from .review import (
    dossier_advance_step,
    dossier_approve,
    dossier_issue_result,
    dossier_propose,
    dossier_refuse,
    dossier_refuse_unanswered,
    dossier_request_supplement,
    dossier_resume,
    dossier_return_result,
    dossier_return_unanswered,
    dossier_send_back,
    dossier_supply,
    dossier_suspend,
    dossier_withdraw,
)
from .signing import document_signature_decide
from .slips import slip_receipt_render
from .workflow import (
    dossier_accept,
    dossier_create,
    dossier_refuse_at_reception,
    dossier_resubmit,
    dossier_return_for_completion,
    dossier_submit,
    dossier_update_form,
)

__all__ = [
    "slip_receipt_render",
    "dossier_hand_over", "dossier_hand_over_refusal", "intake_register", "rating_record_at_desk",
    "document_signature_decide",
    "apology_approve", "apology_draft", "audit_verify", "calendar_for", "calendars_by_agency", "catalog_load",
    "document_upload", "dossier_accept", "dossier_advance_step", "dossier_approve", "dossier_assign", "dossier_claim",
    "dossier_create", "dossier_flag_overdue", "dossier_issue_result", "dossier_propose",
    "dossier_refuse", "dossier_refuse_at_reception", "dossier_request_supplement",
    "dossier_refuse_unanswered", "dossier_return_unanswered",
    "dossier_resubmit", "dossier_resume", "dossier_return_for_completion",
    "dossier_return_result", "dossier_send_back", "dossier_submit", "dossier_supply",
    "dossier_suspend", "dossier_update_form", "dossier_withdraw", "idempotency_lookup",
    "idempotency_store", "notification_deliver", "notification_send_overdue", "notification_send_transition", "notifications_sweep",
    "payment_confirm", "payment_record_at_counter", "payment_start", "rating_create",
    "request_fingerprint", "summary_add", "transition_log_append",
]
__all__ += ["audit_export", "personal_data_read_record"]

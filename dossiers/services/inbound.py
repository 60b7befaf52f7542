"""Dossiers submitted on the national or provincial portal, filed here in the same workflow as
one filed online; each authenticated inbound call is answered once and replayed for repeats."""

import hashlib
import uuid
from dataclasses import asdict, dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from integrations.base import InboundDossier
from integrations.exceptions import InvalidPayload
from portal import clock
from portal.roles import Role

from ..exceptions import IdempotencyKeyReused, InboundProcedureUnknown
from ..models import Dossier, InboundCall, Procedure
from .audit import transition_log_append
from .transitions import effects_queue
from .workflow import dossier_code_allocate

SYSTEM_LABELS = {"national": "Cổng DVC quốc gia", "provincial": "Cổng DVC tỉnh"}
# The form is the sender's to fill: what it gets wrong is listed, within reason.
MAX_LISTED = 20


@dataclass(frozen=True)
class InboundAnswer:
    status: int
    body: dict
    replayed: bool = False


def inbound_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def inbound_call_lookup(*, source: str, key: str, fingerprint: str) -> InboundCall | None:
    """The first answer to this call, or None; the same key with another body is refused."""
    record = InboundCall.objects.filter(source=source, key=key).first()
    if record is not None and record.request_hash != fingerprint:
        raise IdempotencyKeyReused(extra={"key": key})
    return record


def _identity(applicant_id: str) -> tuple[str, str]:
    """("citizen_id" | "tax_code", value) for the applicant's identifier on the wire."""
    ident = applicant_id.strip()
    if ident.isdigit() and len(ident) in (9, 12):
        return "citizen_id", ident
    if len(ident) <= 14:
        return "tax_code", ident
    raise InvalidPayload(
        _("Số giấy tờ của chủ hồ sơ không hợp lệ."), extra={"field": "SoGiayToChuHoSo"}
    )


def _applicant_for(inbound: InboundDossier):
    """The applicant's account found by tax code or citizen ID, or made (it cannot log in
    until its owner sets a password)."""
    User = get_user_model()
    field, ident = _identity(inbound.applicant_id) if inbound.applicant_id.strip() else ("", "")
    if ident:
        found = User.objects.filter(**{field: ident}).order_by("pk").first()
        if found is not None:
            if not found.has_role(Role.APPLICANT):
                found.groups.add(Group.objects.get_or_create(name=Role.APPLICANT)[0])
            return found
    base = f"{'cccd' if field == 'citizen_id' else 'mst'}-{ident}" if ident else (
        f"{inbound.system}-{inbound.remote_code}"
    )
    username = base[:140]
    if User.objects.filter(username=username).exists():
        username = f"{username[:130]}-{uuid.uuid4().hex[:8]}"
    user = User(
        username=username, full_name=inbound.applicant_name[:255],
        email=inbound.applicant_email[:254], phone=inbound.applicant_phone[:20],
        kind=User.Kind.CITIZEN if field == "citizen_id" else User.Kind.BUSINESS,
        **({field: ident} if ident else {}),
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=Role.APPLICANT)[0])
    return user


def _answer(dossier: Dossier) -> dict:
    return {
        "id": dossier.pk, "code": dossier.code, "external_code": dossier.external_code,
        "state": dossier.state, "channel": dossier.channel,
        "procedure_code": dossier.procedure.national_code,
    }


def _incomplete(dossier: Dossier) -> dict:
    """What the submission checks find missing, as reception sees it on the timeline: the
    dossier cannot be accepted until they pass (`Dossier.accept`)."""
    problems = dossier.submission_problems
    found = {}
    if problems.get("form"):
        found["form"] = [{"field": e["field"][:100], "message": e["message"][:200]}
                         for e in problems["form"][:MAX_LISTED]]
    if problems.get("missing_components"):
        found["missing_components"] = problems["missing_components"][:MAX_LISTED]
    return found


def _file(inbound: InboundDossier, procedure: Procedure) -> Dossier:
    """Create the dossier as submitted: a code from the daily counter and a log row, as a
    submission here would leave them."""
    now = clock.now()
    applicant = _applicant_for(inbound)
    agency = procedure.agency
    dossier = Dossier(
        procedure=procedure, applicant=applicant, channel=inbound.channel,
        reception_agency=agency, handling_agency=agency, form_data=inbound.form_data,
        state=Dossier.State.SUBMITTED, code=dossier_code_allocate(agency, now),
        submitted_at=inbound.submitted_at, external_code=inbound.remote_code,
        external_documents=[asdict(d) for d in inbound.documents],
    )
    dossier.full_clean(exclude=["state"])
    dossier.save(force_insert=True)
    details = {"channel": inbound.channel, "external_code": inbound.remote_code,
               "remote_procedure_code": inbound.remote_procedure_code,
               "submitted_remotely_at": inbound.submitted_at.isoformat()}
    if incomplete := _incomplete(dossier):
        details["incomplete"] = incomplete
    log = transition_log_append(
        dossier=dossier, name="submit", from_state=Dossier.State.DRAFT,
        to_state=Dossier.State.SUBMITTED, actor=applicant,
        actor_label=SYSTEM_LABELS.get(inbound.system, inbound.system), at=now, details=details,
    )
    dossier.save(update_fields=["audit_head"])
    effects_queue(dossier=dossier, log=log, notify=True)
    return dossier


@transaction.atomic(durable=True)
def _receive(*, inbound: InboundDossier, key: str, fingerprint: str) -> InboundAnswer:
    record = inbound_call_lookup(source=inbound.system, key=key, fingerprint=fingerprint)
    if record is not None:
        return InboundAnswer(record.response_status, record.response_body, replayed=True)
    procedure = (
        Procedure.objects.select_related("agency")
        .filter(national_code=inbound.procedure_code, is_active=True).first()
    ) if inbound.procedure_code else None
    if procedure is None:
        raise InboundProcedureUnknown(extra={
            "procedure_code": inbound.procedure_code,
            "remote_procedure_code": inbound.remote_procedure_code,
        })
    existing = (
        Dossier.objects.select_related("procedure")
        .filter(external_code=inbound.remote_code).first()
    )
    # The same remote dossier sent again under a new key is the dossier we already filed.
    dossier, status = (existing, 200) if existing is not None else (_file(inbound, procedure), 201)
    body = _answer(dossier)
    InboundCall.objects.create(
        source=inbound.system, key=key, request_hash=fingerprint, response_status=status,
        response_body=body,
    )
    return InboundAnswer(status, body)


def inbound_dossier_receive(*, inbound: InboundDossier, key: str, fingerprint: str) -> InboundAnswer:
    """File a dossier a portal forwarded; a repeat of the call returns the first answer.

    Two copies of one call racing each other: the second to commit breaks a unique constraint
    (the call's key or the remote code), rolls back, and answers with what the first stored.
    """
    try:
        return _receive(inbound=inbound, key=key, fingerprint=fingerprint)
    except IntegrityError:
        record = inbound_call_lookup(source=inbound.system, key=key, fingerprint=fingerprint)
        if record is not None:
            return InboundAnswer(record.response_status, record.response_body, replayed=True)
        existing = Dossier.objects.select_related("procedure").filter(
            external_code=inbound.remote_code).first()
        if existing is None:
            raise
        return InboundAnswer(200, _answer(existing), replayed=True)

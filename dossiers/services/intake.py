"""Dossiers handed in on paper: at a reception desk or by post, anywhere in the province.

Reception registers the dossier for an applicant who may have no account (found or created by
their citizen ID or tax code, without a usable password: a later sign-in with the same number
finds the dossier), scans each paper component (stored as a document digitized at the desk)
and, when the procedure is its own agency's, receives it at once: the clock starts and form 01
can be printed on the spot.

Decree 118/2025: a desk may take a dossier for a procedure another agency of the province
handles. The dossier is then handed over electronically (a logged `hand_over`, pushed to the
portals) and waits in the handling agency's reception queue; the clock starts when that
agency receives it (DESIGN §4: the clock starts at reception by the agency that handles it).

Every check (the applicant, the form, each file) runs before anything is written, so a refused
request changes nothing.
"""

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock
from portal.exceptions import DomainError
from portal.roles import Role

from ..exceptions import InvalidFormData, ProcedureNotFound, TransitionForbidden
from ..models import Agency, Dossier, Payment, Procedure
from .audit import transition_log_append
from .documents import _read, document_upload, pdf_check, sniff_content_type
from .payments import payment_record_at_counter
from .transitions import Move, dossier_locked, effects_queue, transition_run
from .workflow import dossier_accept, dossier_code_allocate

User = get_user_model()

PAPER_CHANNELS = (Dossier.Channel.COUNTER, Dossier.Channel.POST)
APPLICANT_KINDS = (User.Kind.CITIZEN, User.Kind.BUSINESS)
CITIZEN_ID = re.compile(r"^\d{12}$")
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")
PHONE = re.compile(r"^(\+84|0)\d{9,10}$")


@dataclass(frozen=True)
class ApplicantIdentity:
    """Who hands the dossier in, as written on the paper form."""

    kind: str  # citizen | business
    name: str
    id_number: str  # CCCD (12 digits) for a citizen, tax code for a business
    phone: str
    email: str = ""
    address: str = ""


@dataclass(frozen=True)
class PaperScan:
    """The scan of one paper component (an uploaded file)."""

    component_code: str
    file: object


@dataclass
class IntakeResult:
    dossier: Dossier
    received: bool  # the clock started (this desk's own procedure)
    handed_over_to: Agency | None = None  # the handling agency, when another one
    problems: list = field(default_factory=list)


def _field_error(name: str, message: str) -> dict:
    return {"field": name, "code": "invalid", "message": message}


def identity_errors(identity: ApplicantIdentity) -> list[dict]:
    """What is wrong with the applicant's identity, field by field (nothing when all is well)."""
    errors = []
    if identity.kind not in APPLICANT_KINDS:
        errors.append(_field_error("applicant_kind", _("Chọn cá nhân hoặc tổ chức.")))
    if not identity.name.strip():
        errors.append(_field_error("applicant_name", _("Vui lòng nhập họ và tên hoặc tên tổ chức.")))
    number = identity.id_number.strip()
    if identity.kind == User.Kind.BUSINESS:
        if not TAX_CODE.match(number):
            errors.append(_field_error(
                "id_number", _("Mã số thuế gồm 10 chữ số, hoặc 10 chữ số, dấu gạch và 3 chữ số.")))
    elif not CITIZEN_ID.match(number):
        errors.append(_field_error("id_number", _("Số CCCD gồm đúng 12 chữ số.")))
    if not PHONE.match(identity.phone.replace(" ", "").replace(".", "")):
        errors.append(_field_error(
            "phone", _("Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0 hoặc +84.")))
    if identity.email:
        try:
            validate_email(identity.email)
        except ValidationError:
            errors.append(_field_error("email", _("Địa chỉ thư điện tử không hợp lệ.")))
    if not identity.address.strip():
        errors.append(_field_error("address", _("Vui lòng nhập địa chỉ của người nộp.")))
    return errors


def applicant_find_or_create(identity: ApplicantIdentity):
    """The applicant's account, found by their citizen ID or tax code (never a staff
    account); created without a usable password when there is none. Contact details the
    account lacks are filled in; what the account holder entered is kept."""
    number = identity.id_number.strip()
    lookup = {"tax_code": number} if identity.kind == User.Kind.BUSINESS else {"citizen_id": number}
    user = (User.objects.select_for_update().filter(**lookup, kind=identity.kind)
            .order_by("pk").first())
    phone = identity.phone.replace(" ", "").replace(".", "")
    if user is None:
        prefix = "mst" if identity.kind == User.Kind.BUSINESS else "cccd"
        user = User(username=f"{prefix}-{number}", kind=identity.kind,
                    full_name=identity.name.strip(), phone=phone, email=identity.email.strip(),
                    address=identity.address.strip(), **lookup)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get_or_create(name=Role.APPLICANT)[0])
        return user
    changed = []
    for name, value in (("full_name", identity.name.strip()), ("phone", phone),
                        ("email", identity.email.strip()), ("address", identity.address.strip())):
        if value and not getattr(user, name):
            setattr(user, name, value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)
    return user


def _scan_errors(procedure: Procedure, scans: list[PaperScan]) -> list[dict]:
    """Each file checked as an upload would be (size, type sniffed from the bytes, a PDF's
    safety), and every mandatory component present; nothing is stored yet."""
    errors = []
    components = {c.code: c for c in procedure.components.all()}
    given = set()
    for scan in scans:
        component = components.get(scan.component_code)
        name = f"scan_{scan.component_code}"
        if component is None:
            errors.append(_field_error(name, _("Thủ tục không có thành phần hồ sơ này.")))
            continue
        try:
            content = _read(scan.file)
            if not content:
                raise InvalidFormData(_("Tệp rỗng."))
            mime = sniff_content_type(content)
            accepted = component.accepted_types or ["application/pdf"]
            if mime not in accepted:
                raise InvalidFormData(_("Định dạng tệp không được chấp nhận cho thành phần này."))
            if mime == "application/pdf":
                pdf_check(content)
        except DomainError as exc:
            errors.append(_field_error(name, str(exc.message)))
        else:
            given.add(component.code)
        finally:
            if hasattr(scan.file, "seek"):
                scan.file.seek(0)
    for component in components.values():
        if component.mandatory and component.code not in given and not any(
            e["field"] == f"scan_{component.code}" for e in errors
        ):
            errors.append(_field_error(
                f"scan_{component.code}",
                _("Thành phần bắt buộc: vui lòng quét và đính kèm bản giấy."),
            ))
    return errors


def intake_check(
    *, actor, procedure: Procedure, channel: str, applicant: ApplicantIdentity,
    form_data: dict, scans: list[PaperScan], fee_channel: str = "",
) -> list[dict]:
    """Every problem of the request, as field errors; empty when it can be registered."""
    errors = []
    if channel not in PAPER_CHANNELS:
        errors.append(_field_error("channel", _("Chọn nộp trực tiếp hoặc qua bưu chính.")))
    errors += identity_errors(applicant)
    if not isinstance(form_data, dict):
        errors.append(_field_error("form_data", _("Tờ khai phải là một đối tượng JSON.")))
    else:
        errors += [
            {**e, "field": f"form.{e['field']}" if e.get("field") else "form_data"}
            for e in procedure.form_errors(form_data)
        ]
    errors += _scan_errors(procedure, scans)
    same_agency = procedure.agency.code == actor.agency_code
    if same_agency and procedure.fee_due_at_submission and fee_channel not in (
        Payment.Channel.CASH, Payment.Channel.TRANSFER
    ):
        errors.append(_field_error(
            "fee_channel", _("Thủ tục thu phí khi nộp hồ sơ: ghi nhận hình thức nộp phí.")))
    return errors


@transaction.atomic(durable=True)
def _register(*, actor, procedure: Procedure, channel: str, applicant: ApplicantIdentity,
              form_data: dict, on_behalf_name: str) -> Dossier:
    reception = Agency.objects.get(code=actor.agency_code)
    owner = applicant_find_or_create(applicant)
    dossier = Dossier(
        procedure=procedure, applicant=owner, form_data=form_data, channel=channel,
        on_behalf_name=on_behalf_name.strip(), reception_agency=reception,
        handling_agency=procedure.agency,
    )
    dossier.full_clean(exclude=["state"])
    dossier.save()

    def prepare(move: Move) -> dict:
        return {"code": dossier_code_allocate(move.dossier.handling_agency, move.now)}

    def after(move: Move) -> None:
        move.details.update({
            "channel": channel, "reception_agency": reception.code,
            "handling_agency": procedure.agency.code,
        })

    return transition_run(dossier_id=dossier.pk, actor=actor, name="register",
                          prepare=prepare, after=after)


@transaction.atomic(durable=True)
def dossier_hand_over(*, dossier_id: int, actor) -> Dossier:
    """The desk that took the dossier hands it over electronically to the handling agency:
    logged (with the papers handed over) and pushed to the portals; the handling agency's
    reception finds it in its queue."""
    dossier = dossier_locked(dossier_id)
    if not (actor.has_role(Role.RECEPTION)
            and actor.agency_code == dossier.reception_agency.code):
        raise TransitionForbidden()
    if dossier.state != Dossier.State.SUBMITTED or (
        dossier.reception_agency_id == dossier.handling_agency_id
    ):
        raise InvalidFormData(_("Hồ sơ không chờ chuyển cho cơ quan khác."))
    if dossier.transitions.filter(name="hand_over").exists():
        raise InvalidFormData(_("Hồ sơ đã được chuyển."))
    now = clock.now()
    papers = [
        {"component": d.component.code, "sha256": d.sha256, "digitized": d.digitized}
        for d in dossier.documents.filter(is_current=True).select_related("component")
    ]
    dossier.version += 1
    log = transition_log_append(
        dossier=dossier, name="hand_over", from_state=dossier.state, to_state=dossier.state,
        actor=actor, actor_label=actor.display_name, at=now, reason="", step="",
        clock_effect="",
        details={"from_agency": dossier.reception_agency.code,
                 "to_agency": dossier.handling_agency.code, "documents": papers},
    )
    dossier.save(update_fields=["version", "audit_head", "updated_at"])
    effects_queue(dossier=dossier, log=log, notify=False)
    return dossier


def intake_register(
    *, actor, procedure_id: int, channel: str, applicant: ApplicantIdentity,
    form_data: dict | None = None, scans: list[PaperScan] = (), on_behalf_name: str = "",
    fee_channel: str = "",
) -> IntakeResult:
    """Register a paper dossier at the desk: check everything, then register, store each scan
    as a document digitized at the desk, and receive it (this agency's procedure) or hand it
    over (another agency's)."""
    if not (actor.has_role(Role.RECEPTION) and actor.agency_code):
        raise TransitionForbidden(_("Chỉ cán bộ Bộ phận Một cửa được tiếp nhận hồ sơ."))
    procedure = (Procedure.objects.select_related("agency").prefetch_related("components")
                 .filter(pk=procedure_id, is_active=True).first())
    if procedure is None:
        raise ProcedureNotFound(extra={"procedure_id": procedure_id})
    form_data = {} if form_data is None else form_data
    scans = list(scans)
    errors = intake_check(actor=actor, procedure=procedure, channel=channel,
                          applicant=applicant, form_data=form_data, scans=scans,
                          fee_channel=fee_channel)
    if errors:
        raise InvalidFormData(extra={"errors": errors})
    dossier = _register(actor=actor, procedure=procedure, channel=channel, applicant=applicant,
                        form_data=form_data, on_behalf_name=on_behalf_name)
    for scan in scans:
        document_upload(dossier_id=dossier.pk, actor=actor, component_code=scan.component_code,
                        uploaded_file=scan.file, digitized=True)
    if procedure.agency.code != actor.agency_code:
        dossier = dossier_hand_over(dossier_id=dossier.pk, actor=actor)
        return IntakeResult(dossier=dossier, received=False, handed_over_to=procedure.agency)
    if procedure.fee_due_at_submission:
        payment_record_at_counter(dossier_id=dossier.pk, actor=actor, channel=fee_channel)
    dossier = dossier_accept(dossier_id=dossier.pk, actor=actor)
    return IntakeResult(dossier=dossier, received=True)

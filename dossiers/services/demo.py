"""Demo data: the role accounts and dossiers walked through the real services in the past."""

import atexit
import gc
import hashlib
import multiprocessing
import os
import queue
import random
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test.utils import override_settings
from django.utils.translation import gettext as _

from cryptography.hazmat.primitives.asymmetric import ec
from fontTools import subset as font_subset
from fpdf import FPDF
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from integrations.http import FAKE, payment_implementation
from integrations.registry import get_payment_provider
from portal import clock
from portal.effects import tasks_deferred
from portal.roles import Role
from portal.second_factor import totp_device_set
from signatures import devpki
from signatures.models import TrustedCertificate
from signatures.results import FONT_DIR
from signatures.services import revocation_record_store, trust_anchor_import
from signatures.signers import LoadedKeySigner, pdf_sign

from ..models import Agency, Dossier, Procedure, ProcessStep, Result, Unit, form_properties
from .calendars import calendar_for
from .catalog import catalog_load
from .documents import document_upload
from .notifications import DELIVER_TASK, SWEEP_TASK, notifications_sweep
from .payments import payment_confirm, payment_record_at_counter, payment_start
from .queue import dossier_assign, dossier_claim, dossier_flag_overdue, rating_create
from .review import (
    dossier_approve,
    dossier_issue_result,
    dossier_propose,
    dossier_refuse,
    dossier_request_supplement,
    dossier_resume,
    dossier_return_result,
    dossier_send_back,
    dossier_supply,
    dossier_suspend,
    dossier_withdraw,
)
from .sync import outbox_relay
from .transitions import RELAY_TASK
from .workflow import (
    dossier_accept,
    dossier_create,
    dossier_refuse_at_reception,
    dossier_resubmit,
    dossier_return_for_completion,
    dossier_submit,
)

User = get_user_model()
DEMO_PASSWORD = "motcua-demo-2025"  # noqa: S105 - published in README for the demo only

ACCOUNTS = [
    ("congdan", Role.APPLICANT, "Nguyễn Văn An", User.Kind.CITIZEN, "", {"citizen_id": "045090001234"}),
    ("doanhnghiep", Role.APPLICANT, "Công ty TNHH Thương mại Đông Hà", User.Kind.BUSINESS, "",
     {"tax_code": "3200123456"}),
    ("tiepnhan", Role.RECEPTION, "Lê Thị Bình", User.Kind.STAFF, "SCT", {}),
    ("chuyenvien", Role.SPECIALIST, "Trần Quốc Cường", User.Kind.STAFF, "SCT", {}),
    ("lanhdao", Role.LEADER, "Phạm Minh Đức", User.Kind.STAFF, "SCT", {}),
    ("quanly", Role.MANAGER, "Hoàng Thu Hà", User.Kind.STAFF, "SCT", {}),
    ("admin", Role.ADMIN, "Quản trị hệ thống", User.Kind.STAFF, "", {}),
]
EXTRA_APPLICANTS = [
    ("dn-xangdau-trieuphong", "Công ty CP Xăng dầu Triệu Phong", "3200234567"),
    ("dn-ruou-khesanh", "HTX Rượu cần Khe Sanh", "3200345678"),
    ("dn-vlnc-bacmien", "Công ty TNHH Vật liệu nổ Bắc Miền Trung", "3200456789"),
    ("dn-dien-hiendong", "Công ty CP Thủy điện Hiền Đông", "3200567890"),
    ("dn-thuocla-cualo", "Hộ kinh doanh Cửa Lò", "3200678901"),
    ("dn-khuyenmai-lamson", "Siêu thị Lam Sơn", "3200789012"),
]
# The smallest PDF the content sniffer recognises; the demo does not need real documents.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

# Where each demo dossier ends, with its weight.
TARGETS = {
    "returned": 40, "result_ready": 8, "refused": 4, "rejected": 3, "withdrawn": 4,
    "processing": 13, "awaiting_supplement": 5, "suspended": 2, "pending_approval": 5,
    "approved": 2, "submitted": 6, "needs_completion": 3, "draft": 5,
}
OPEN_TARGETS = {
    "processing", "awaiting_supplement", "suspended", "pending_approval", "approved",
    "submitted", "needs_completion", "draft",
}
CHANNELS = {
    Dossier.Channel.ONLINE: 68, Dossier.Channel.COUNTER: 17, Dossier.Channel.POST: 5,
    Dossier.Channel.NATIONAL_PORTAL: 7, Dossier.Channel.PROVINCIAL_PORTAL: 3,
}


def demo_totp_key(username: str) -> str:
    """The demo staff account's fixed TOTP key (hex), published with the demo password so
    that anyone can add it to an authenticator app; real accounts enrol their own."""
    return hashlib.sha1(f"motcua-demo-totp:{username}".encode(), usedforsecurity=False).hexdigest()


@dataclass
class DemoSummary:
    accounts: list[str] = field(default_factory=list)
    procedures: int = 0
    dossiers: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    overdue: int = 0


def demo_accounts_ensure() -> dict[str, object]:
    """Create (or reset the password of) every demo account; returns them by username."""
    users = {}
    # One hash for every account (they share the password): the hasher's full work once,
    # not once per account; each account still checks the password through that hash.
    encoded = make_password(DEMO_PASSWORD)
    for username, role, name, kind, agency, extra in ACCOUNTS:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "full_name": name, "kind": kind, "agency_code": agency,
                "email": f"{username}@demo.motcua.vn", "is_staff": role != Role.APPLICANT,
                "is_superuser": role == Role.ADMIN, **extra,
            },
        )
        user.password = encoded
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role != Role.APPLICANT:
            totp_device_set(user=user, key_hex=demo_totp_key(username), name="Demo")
        users[username] = user
    applicant_group = Group.objects.get_or_create(name=Role.APPLICANT)[0]
    for username, name, tax_code in EXTRA_APPLICANTS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"full_name": name, "kind": User.Kind.BUSINESS, "tax_code": tax_code,
                      "email": f"{username}@demo.motcua.vn"},
        )
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(applicant_group)
        users[username] = user
    return users


# The demo agency's two units (phòng chuyên môn) and the sectors whose review each owns.
DEMO_UNITS = {
    "qltm": ("Phòng Quản lý thương mại", None),
    "qlcn": ("Phòng Quản lý công nghiệp", ("Điện", "Hóa chất", "Kinh doanh khí",
                                             "Công nghiệp tiêu dùng",
                                             "Vật liệu nổ công nghiệp, tiền chất thuốc nổ")),
}


def demo_units_ensure() -> dict[str, Unit]:
    """The demo agency's units; each specialist step of its procedures goes to one of them,
    and the demo specialist (`chuyenvien`) belongs to the trade unit."""
    agency = Agency.objects.filter(code="SCT").first()
    if agency is None:
        return {}
    units = {
        code: Unit.objects.update_or_create(agency=agency, code=code,
                                            defaults={"name": name})[0]
        for code, (name, _sectors) in DEMO_UNITS.items()
    }
    steps = ProcessStep.objects.filter(procedure__agency=agency, role=Role.SPECIALIST)
    industry = DEMO_UNITS["qlcn"][1]
    steps.filter(procedure__sector__in=industry).update(unit=units["qlcn"])
    steps.exclude(procedure__sector__in=industry).update(unit=units["qltm"])
    User.objects.filter(username="chuyenvien").update(unit_code="qltm")
    return units


class _Walker:
    """Moves one demo dossier through the real services, each step at its own past instant."""

    def __init__(self, *, rnd: random.Random, users: dict, now: datetime,
                 titles: Iterable[str] = ()) -> None:
        self.rnd = rnd
        self.users = users
        self.now = now
        self.applicants = [users["congdan"], users["doanhnghiep"]] + [
            users[u] for u, _, _ in EXTRA_APPLICANTS
        ]
        self.signing = _DemoSignatures(now, applicants=self.applicants, titles=titles)
        self._calendars: dict[int, object] = {}

    def calendar(self, agency: Agency):
        # Nothing the walk does changes a calendar: each agency's is read once, not per dossier.
        if agency.pk not in self._calendars:
            self._calendars[agency.pk] = calendar_for(agency)
        return self._calendars[agency.pk]

    def at(self, moment: datetime, fn, **kwargs):
        with clock.frozen_at(moment):
            return fn(**kwargs)

    def later(self, cal, moment: datetime, low: int, high: int) -> datetime:
        return cal.add_working_minutes(moment, self.rnd.randint(low, high))

    def walk(self, procedure: Procedure, target: str, start: datetime) -> Dossier:
        rnd = self.rnd
        cal = self.calendar(procedure.agency)
        applicant = rnd.choice(self.applicants)
        channel = rnd.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        t = cal.next_working_instant(start)
        dossier = self.at(t, dossier_create, actor=applicant, procedure_id=procedure.pk,
                          form_data=_form_for(procedure, applicant), channel=channel)
        for component in procedure.components.all():
            if component.mandatory or rnd.random() < 0.4:
                t = self.later(cal, t, 1, 20)
                content = DEMO_PDF
                if component.must_be_signed:
                    content = self.signing.signed_pdf(applicant, component.name)
                self.at(t, document_upload, dossier_id=dossier.pk, actor=applicant,
                        component_code=component.code,
                        uploaded_file=_demo_file(component, content=content))
        if target == "draft":
            return dossier
        if procedure.fee_due_at_submission:
            self._pay_online(t, dossier, applicant)
        steps = self._steps(procedure, target, channel)
        t = self.later(cal, t, 5, 60)
        dossier = self.at(t, dossier_submit, dossier_id=dossier.pk, actor=applicant)
        for name in steps:
            t = self._next_time(cal, dossier, name, t)
            if t >= self.now:
                break
            done = self._do(name, t, dossier.pk, applicant, cal)
            # Each move's service hands back the dossier as it left it; the few steps that
            # return something else (a payment, a rating, a scan) are followed by a read of
            # what the walk looks at (its state and due time).
            dossier = done if isinstance(done, Dossier) else Dossier.objects.only(
                "pk", "state", "due_at").get(pk=dossier.pk)
        return dossier

    def _steps(self, procedure: Procedure, target: str, channel: str) -> list[str]:
        rnd = self.rnd
        if target == "submitted":
            return []
        if target == "needs_completion":
            return ["return_for_completion"]
        if target == "rejected":
            return ["refuse_at_reception"]
        head = ["return_for_completion", "resubmit"] if rnd.random() < 0.08 else []
        if channel == Dossier.Channel.COUNTER:
            head.append("digitize")
        head += ["accept", "claim"]
        middle = []
        if rnd.random() < 0.18 or target == "awaiting_supplement":
            middle += ["request_supplement"]
            if target != "awaiting_supplement":
                middle += ["supply"]
        if target == "suspended" or (target not in OPEN_TARGETS and rnd.random() < 0.03):
            middle += ["suspend"]
            if target != "suspended":
                middle += ["resume"]
        if target in ("processing", "awaiting_supplement", "suspended"):
            return head + middle
        if target == "withdrawn":
            return head[: rnd.randint(0, len(head))] + ["withdraw"]
        review = ["propose"]
        if rnd.random() < 0.1:
            review += ["send_back", "propose"]
        if target == "pending_approval":
            return head + middle + review
        if target == "refused":
            return head + middle + review + ["refuse"]
        tail = ["approve"] if target == "approved" else ["approve", "issue_result"]
        if target == "returned":
            tail += ["settle_fee", "return_result", "rate"]
        return head + middle + review + tail

    def _next_time(self, cal, dossier: Dossier, name: str, t: datetime) -> datetime:
        rnd = self.rnd
        if name == "issue_result" or name == "refuse":
            due = dossier.due_at
            left = max(1, int(cal.working_minutes_between(t, due)))
            kind = rnd.choices(["early", "on_time", "late"], weights=[55, 30, 15])[0]
            if kind == "early" and left > 600:
                return cal.add_working_minutes(t, rnd.randint(30, left - 300))
            if kind == "late":
                return cal.add_working_minutes(due, rnd.randint(30, 480 * 6))
            return max(self.later(cal, t, 5, 20), cal.add_working_minutes(due, -rnd.randint(5, 180)))
        if name in ("propose", "approve", "send_back") and dossier.due_at:
            left = max(60, int(cal.working_minutes_between(t, dossier.due_at)))
            return cal.add_working_minutes(t, rnd.randint(10, max(20, left // 3)))
        if name == "supply":
            return self.later(cal, t, 240, 480 * 6)
        if name == "resume":
            return self.later(cal, t, 480, 480 * 4)
        if name in ("return_result", "rate"):
            return self.later(cal, t, 30, 480 * 3)
        return self.later(cal, t, 10, 480)

    def _do(self, name: str, t: datetime, pk: int, applicant, cal):
        u = self.users
        reason = {
            "return_for_completion": "Đơn đề nghị chưa có chữ ký của người đại diện theo pháp luật.",
            "refuse_at_reception": "Thủ tục không thuộc thẩm quyền giải quyết của Sở.",
            "request_supplement": "Bổ sung bản sao biên bản kiểm tra phòng cháy, chữa cháy còn hiệu lực.",
            "suspend": "Chờ ý kiến của cơ quan phối hợp (Công an tỉnh).",
            "send_back": "Đề nghị thẩm định lại hồ sơ kỹ thuật.",
            "refuse": "Cơ sở không đáp ứng điều kiện về khoảng cách an toàn theo quy định.",
            "withdraw": "Doanh nghiệp thay đổi kế hoạch kinh doanh.",
        }.get(name)
        actions = {
            "resubmit": lambda: dossier_resubmit(dossier_id=pk, actor=applicant),
            "return_for_completion": lambda: dossier_return_for_completion(
                dossier_id=pk, actor=u["tiepnhan"], reason=reason),
            "refuse_at_reception": lambda: dossier_refuse_at_reception(
                dossier_id=pk, actor=u["tiepnhan"], reason=reason),
            "digitize": lambda: self._digitize(pk),
            "accept": lambda: dossier_accept(dossier_id=pk, actor=u["tiepnhan"]),
            "claim": lambda: (
                dossier_claim(dossier_id=pk, actor=u["chuyenvien"]) if self.rnd.random() < 0.6
                else dossier_assign(dossier_id=pk, actor=u["lanhdao"],
                                    assignee_id=u["chuyenvien"].pk)
            ),
            "request_supplement": lambda: dossier_request_supplement(
                dossier_id=pk, actor=u["chuyenvien"], reason=reason),
            "supply": lambda: dossier_supply(dossier_id=pk, actor=applicant),
            "suspend": lambda: dossier_suspend(dossier_id=pk, actor=u["chuyenvien"], reason=reason),
            "resume": lambda: dossier_resume(dossier_id=pk, actor=u["chuyenvien"]),
            "propose": lambda: dossier_propose(dossier_id=pk, actor=u["chuyenvien"]),
            "send_back": lambda: dossier_send_back(dossier_id=pk, actor=u["lanhdao"], reason=reason),
            "approve": lambda: dossier_approve(dossier_id=pk, actor=u["lanhdao"]),
            "refuse": lambda: dossier_refuse(dossier_id=pk, actor=u["lanhdao"], reason=reason),
            "issue_result": lambda: dossier_issue_result(
                dossier_id=pk, actor=u["lanhdao"], kind=Result.Kind.LICENCE,
                number=f"{self.rnd.randint(1, 999)}/GP-SCT",
                electronic=self.rnd.random() < 0.85),
            "settle_fee": lambda: self._settle_fee(t, pk, applicant),
            "return_result": lambda: dossier_return_result(dossier_id=pk, actor=u["tiepnhan"]),
            "rate": lambda: (
                rating_create(dossier_id=pk, actor=applicant,
                              score=self.rnd.choices([5, 4, 3, 2, 1], [50, 30, 10, 6, 4])[0])
                if self.rnd.random() < 0.55 else None
            ),
            "withdraw": lambda: dossier_withdraw(dossier_id=pk, actor=applicant, reason=reason),
        }
        with clock.frozen_at(t):
            return actions[name]()

    def _digitize(self, pk: int) -> None:
        dossier = Dossier.objects.select_related("procedure").get(pk=pk)
        # A scan of paper carries no digital signature: it cannot stand in for a component that
        # must be signed (a later supplement would find that component unsigned).
        component = dossier.procedure.components.filter(must_be_signed=False).first()
        if component is None:
            return
        document_upload(dossier_id=pk, actor=self.users["tiepnhan"], component_code=component.code,
                        uploaded_file=_demo_file(component, "ban-so-hoa"), digitized=True)

    def _pay_online(self, t: datetime, dossier: Dossier, applicant) -> None:
        with clock.frozen_at(t):
            payment = payment_start(dossier_id=dossier.pk, actor=applicant)
            payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                            amount=payment.amount, confirmed_by="demo:seed")

    def _settle_fee(self, t: datetime, pk: int, applicant) -> None:
        dossier = Dossier.objects.select_related("procedure").get(pk=pk)
        if not dossier.result_fee_outstanding:
            return
        if self.rnd.random() < 0.6:
            self._pay_online(t, dossier, applicant)
        else:
            payment_record_at_counter(dossier_id=pk, actor=self.users["tiepnhan"], channel="cash")


def _form_for(procedure: Procedure, applicant) -> dict:
    """Form data satisfying the procedure's schema, from the applicant's own details."""
    known = {
        "applicant_name": applicant.display_name, "tax_code": applicant.tax_code or "3200999999",
        "address": "Số 1 Hùng Vương, phường Đông Hà, tỉnh Quảng Trị", "phone": "0233385123",
    }
    patterns = {"^[0-9]{12}$": "045090001234", "^0[0-9]{9,10}$": "0233385123"}
    data = {}
    for name, spec in form_properties(procedure.form_schema):
        kind = spec.get("type")
        if "enum" in spec:
            data[name] = spec["enum"][0]
        elif kind == "string" and spec.get("format") == "date":
            data[name] = clock.now().date().isoformat()
        elif kind == "string":
            data[name] = known.get(name) or patterns.get(spec.get("pattern"), "Theo hồ sơ đính kèm")
        elif kind in ("number", "integer"):
            data[name] = 10
        elif kind == "array":
            data[name] = ["Theo danh mục đính kèm"]
    errors = procedure.form_errors(data)
    if errors:
        raise ValueError(f"demo form for {procedure.pk} breaks its schema: {errors}")
    return data


def _demo_file(component, name: str = "giay-to", content: bytes = DEMO_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{name}-{component.code}.pdf", content, "application/pdf")


class _DemoSignatures:
    """A throw-away CA for demo applicants (trusted in the public scope, with an empty CRL),
    so the components that must be signed carry signatures that verify. Each applicant's
    certificate is made before the walk; each of their forms is drawn and signed once, and the
    same signed file goes with every dossier that needs it, as a business files the same signed
    paper again. The forked walkers share the forms they sign through files: each form is
    drawn and signed once between them."""

    def __init__(self, now: datetime, *, applicants=(), titles: Iterable[str] = ()) -> None:
        self.now = now
        self.root = devpki.make_root(
            "Demo CA chữ ký số công cộng (thử nghiệm)", not_before=now - timedelta(days=400),
            not_after=now + timedelta(days=3650),
        )
        trust_anchor_import(data=self.root.pem, scope=TrustedCertificate.Scope.PUBLIC,
                            note="demo applicants' CA, generated by seed_demo")
        revocation_record_store(
            source=f"demo-applicants:{self.root.asn1().sha256.hex()[:16]}",
            data=devpki.make_crl(self.root, this_update=now - timedelta(minutes=5),
                                 next_update=now + timedelta(days=3650)),
        )
        self._certs: dict[int, devpki.Issued] = {}
        self._signers: dict[int, LoadedKeySigner] = {}
        self._signed: dict[tuple[int, str], bytes] = {}
        # The letters of every form the walk draws (its titles and the applicants' names): the
        # font is cut to them once.
        self._letters = frozenset("".join(
            [*titles, *(a.display_name for a in applicants)])) | PRINTABLE_ASCII
        self._shared = tempfile.mkdtemp(prefix="motcua-demo-forms-")
        owner = os.getpid()
        # Only the process that made it removes it (forked walkers share the folder).
        atexit.register(lambda: os.getpid() == owner
                        and shutil.rmtree(self._shared, ignore_errors=True))
        for applicant in applicants:
            self._cert_for(applicant)

    def _cert_for(self, applicant) -> devpki.Issued:
        if applicant.pk not in self._certs:
            uid = (f"MST:{applicant.tax_code}" if applicant.tax_code
                   else f"CCCD:{applicant.citizen_id}")
            # P-256 (accepted by the verifier's policy like RSA-2048): made in a millisecond
            # where an RSA key takes tens, and quicker to sign with.
            self._certs[applicant.pk] = devpki.issue(
                self.root, applicant.display_name, uid=uid,
                organisation=applicant.display_name if applicant.tax_code else None,
                not_before=self.now - timedelta(days=399), not_after=self.now + timedelta(days=730),
                key=devpki.new_key(curve=ec.SECP256R1()),
            )
        return self._certs[applicant.pk]

    def _page(self, applicant, title: str) -> bytes:
        # Loading the font and cutting it again for the file are most of the cost: the form is
        # drawn with a font of the walk's letters only (else of the Vietnamese letters).
        text = f"{title}\n\n{applicant.display_name}"
        known = set(text.replace("\n", "")) <= self._letters
        pdf = FPDF(unit="pt", format="A4")
        pdf.add_font("DejaVu", "", _form_font(self._letters if known else frozenset()))
        pdf.add_page()
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 16, text)
        return bytes(pdf.output())

    def _signer_for(self, applicant) -> LoadedKeySigner:
        # One signer per applicant: its key stays parsed for every document they sign.
        if applicant.pk not in self._signers:
            issued = self._cert_for(applicant)
            self._signers[applicant.pk] = LoadedKeySigner.from_key(
                signing_cert=issued.asn1(), private_key=issued.key,
                cert_registry=SimpleCertificateStore.from_certs(issued.asn1_chain()),
            )
        return self._signers[applicant.pk]

    def signed_pdf(self, applicant, title: str) -> bytes:
        """The applicant's form `title`, signed with their certificate (once per form)."""
        key = (applicant.pk, title)
        if key not in self._signed:
            digest = hashlib.sha256(title.encode()).hexdigest()[:32]
            shared = os.path.join(self._shared, f"{applicant.pk}-{digest}.pdf")
            try:
                with open(shared, "rb") as signed_by_another:
                    content = signed_by_another.read()
            except FileNotFoundError:
                meta = signers.PdfSignatureMetadata(field_name="ChuKySo", md_algorithm="sha256",
                                                    subfilter=fields.SigSeedSubFilter.PADES)
                content = pdf_sign(
                    content=self._page(applicant, title),
                    pdf_signer=signers.PdfSigner(meta, signer=self._signer_for(applicant)))
                # Written whole under another name, then renamed: a reader sees all or nothing.
                handle, scratch = tempfile.mkstemp(dir=self._shared, suffix=".part")
                with os.fdopen(handle, "wb") as out:
                    out.write(content)
                os.replace(scratch, shared)
            self._signed[key] = content
        return self._signed[key]


# The letters of Vietnamese forms: Basic Latin, Latin-1 and Extended-A/B, the combining marks,
# Latin Extended Additional (ạ ả ấ ... ỹ) and the general punctuation.
FORM_UNICODES = (
    [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x324), *range(0x1EA0, 0x1EFA),
     *range(0x2000, 0x2070)]
)
PRINTABLE_ASCII = frozenset(map(chr, range(0x20, 0x7F)))
_form_fonts: dict[frozenset, str] = {}


def _form_font(letters: frozenset[str] = frozenset()) -> str:
    """DejaVu Sans cut to `letters` and the printable ASCII (with no letters given, to the
    letters of Vietnamese forms), made once per process and set of letters: the full face
    (6,000 glyphs) takes fpdf three times as long to load for every form drawn, and fpdf cuts
    the face it loaded again for each file. fpdf draws without OpenType shaping: the layout
    tables are left out."""
    if letters not in _form_fonts:
        options = font_subset.Options()
        options.layout_features = []
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF"]
        font = font_subset.load_font(str(FONT_DIR / "DejaVuSans.ttf"), options)
        subsetter = font_subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(map(ord, letters | PRINTABLE_ASCII)) if letters
                           else FORM_UNICODES)
        subsetter.subset(font)
        handle, path = tempfile.mkstemp(prefix="motcua-demo-font-", suffix=".ttf")
        os.close(handle)
        font_subset.save_font(font, path, options)
        owner = os.getpid()
        # Only the process that made it removes it (forked walkers share the file).
        atexit.register(lambda: os.getpid() == owner and os.path.exists(path) and os.remove(path))
        _form_fonts[letters] = path
    return _form_fonts[letters]


def _progress_steps(total: int) -> set[int]:
    """After which dossiers to report: about every tenth of the way, and the last one."""
    every = max(1, total // 10)
    return set(range(every, total, every)) | {total}


# Where a dossier ends with a signed result or notice: the costly walks (a PDF rendered and
# signed by the agency), kept to a few in the first batch so the portal opens soon.
SIGNED_TARGETS = {"returned", "result_ready", "refused"}


@dataclass(frozen=True)
class _Planned:
    """One demo dossier to walk: where it ends, how far back it starts, its own random seed
    (the same dossier whichever process walks it)."""

    index: int
    target: str
    back_days: float
    procedure_id: int
    seed: int


def _targets_in_proportion(count: int) -> list[str]:
    """`count` targets in the proportions of TARGETS from the first ones on (smooth weighted
    round robin): any number of demo dossiers has the mix of states the weights say, not a
    lucky or unlucky draw of them."""
    total = sum(TARGETS.values())
    current = dict.fromkeys(TARGETS, 0)
    targets = []
    for _i in range(count):
        for name, weight in TARGETS.items():
            current[name] += weight
        chosen = max(current, key=current.get)
        current[chosen] -= total
        targets.append(chosen)
    return targets


def _plan(*, rnd: random.Random, procedures: list, dossiers: int, first_batch: int
          ) -> list[_Planned]:
    """The dossiers to walk, the first batch first: mostly dossiers without a signed result
    (quick to walk), with one in ten that has one so that results are there from the start."""
    plan = []
    targets = _targets_in_proportion(dossiers)
    for index, target in enumerate(targets):
        back = rnd.uniform(1, 30) if target in OPEN_TARGETS else rnd.uniform(40, 182)
        procedure = rnd.choice(procedures)
        plan.append(_Planned(index=index, target=target, back_days=back,
                             procedure_id=procedure.pk, seed=rnd.getrandbits(64)))
    first = min(max(first_batch, 0), dossiers)
    if not 0 < first < dossiers:
        return plan
    signed_allowed = max(1, first // 10)
    head, rest = [], []
    for item in plan:
        signed = item.target in SIGNED_TARGETS
        if len(head) < first and (not signed or signed_allowed > 0):
            signed_allowed -= signed
            head.append(item)
        else:
            rest.append(item)
    return head + rest


def demo_processes_usable() -> bool:
    """Whether a second walking process may be asked for (`seed_demo --processes 2`): the other
    processes must see the rows. Inside a transaction (the tests) or on an in-memory SQLite they
    would not. The portals and the payment platform may be the in-process fakes: only this
    process calls the portals (the walkers leave every message to its sweeps), and each walker
    pays its own dossiers on its own copy of the fake platform."""
    if connection.in_atomic_block:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


# Walkers by default: one per core, at most two. On two cores, 40 dossiers took 4.3 s with two
# walkers against 8.9 s with one (SQLite in write-ahead logging, the in-process fakes).
WALKERS_AT_MOST = 2


def demo_walkers() -> int:
    """How many processes walk the demo dossiers when not told: one per core this process may
    use, at most WALKERS_AT_MOST, when another process can share the rows and the system forks
    (the walkers are forked); else one."""
    if not demo_processes_usable() or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, WALKERS_AT_MOST))


def _sqlite_sync_off() -> None:
    # A forked walker opens its own connection: like the parent's, it does not wait for the
    # disk at each of its small commits (a half-seeded demo database is simply made again).
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")


def _walk_planned(walker: _Walker, procedures: dict, item: _Planned) -> str:
    walker.rnd = random.Random(item.seed)
    start = walker.now - timedelta(days=item.back_days)
    return walker.walk(procedures[item.procedure_id], item.target, start).state


# A walker's young objects are collected after this many allocations, not Python's 700: its
# ORM work makes and drops objects by the thousand, and each collection also walks the young
# objects that survive. With the parent's objects frozen (`_walk_all`), a walker's collector
# took 0.46-0.52 s of 15-17 s of CPU over a 300-dossier seed, against 0.77-0.99 s.
WALKER_GC_THRESHOLD = 10_000


def _walk_in_child(items, procedures, walker: _Walker, results) -> None:
    try:
        gc.set_threshold(WALKER_GC_THRESHOLD, 10, 10)
        _sqlite_sync_off()
        for item in items:
            results.put(("done", item.index, _walk_planned(walker, procedures, item)))
    except BaseException:
        results.put(("error", None, traceback.format_exc()))
    finally:
        connections.close_all()


def _walk_all(plan: list[_Planned], *, procedures: dict, walker: _Walker, processes: int,
              done: Callable[[str], None]) -> None:
    """Walk every planned dossier, in `processes` forked processes when more than one (each
    takes every n-th dossier of the plan, so the first batch is in about as soon)."""
    if processes <= 1 or len(plan) < 2:
        for item in plan:
            done(_walk_planned(walker, procedures, item))
        return
    if payment_implementation() == FAKE:
        # The fake platform lives in memory: built here, each walker pays on its own copy,
        # which names its references after the walker (two fakes built apart would not).
        get_payment_provider()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    # The children open their own connections; a shared SQLite handle would be corrupted.
    connections.close_all()
    children = [
        context.Process(target=_walk_in_child, args=(plan[k::processes], procedures, walker,
                                                     results), daemon=True)
        for k in range(processes)
    ]
    # What the parent made before the fork (Django, the libraries, the catalog: some 200,000
    # objects) is frozen for the walkers' collector, which then never walks it (nor touches
    # the pages the walkers share with the parent); the parent's own collector gets it back.
    gc.freeze()
    try:
        for child in children:
            child.start()
    finally:
        gc.unfreeze()
    try:
        remaining = len(plan)
        while remaining:
            try:
                kind, _index, payload = results.get(timeout=1)
            except queue.Empty:
                lost = [c for c in children if not c.is_alive() and c.exitcode != 0]
                if lost:
                    raise RuntimeError(
                        f"demo walker exited with code {lost[0].exitcode}") from None
                continue
            if kind == "error":
                raise RuntimeError(f"demo walker failed:\n{payload}")
            remaining -= 1
            done(payload)
    finally:
        for child in children:
            if child.is_alive() and remaining:
                child.terminate()
            child.join()


# The tasks a change queues after its commit for its email and its portal messages: during the
# walk their rows are delivered a batch at a time by the sweeps (`_deliver_owed`) instead.
DEFERRED_TASKS = (DELIVER_TASK, SWEEP_TASK, RELAY_TASK)
# How many walked dossiers between two deliveries.
DELIVER_EVERY = 25


def _deliver_owed() -> None:
    """Send what the walked changes owe, as the periodic sweeps do: every portal message due,
    in order per dossier and system, then every email due. A message or email that fails stays
    for the periodic sweeps, as after a failed task."""
    while outbox_relay().sent:
        pass
    notifications_sweep(limit=10**9)


def demo_seed(
    *, dossiers: int = 300, seed: int = 2025, now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    first_batch: int = 0, on_first_batch: Callable[[], None] | None = None,
    processes: int = 1,
) -> DemoSummary:
    """Load the catalog, the accounts and, once, dossiers spread over the last six months.
    `progress`, when given, hears one line per stage (and every tenth of the dossiers);
    `on_first_batch`, when given, is called once the accounts and the first `first_batch`
    dossiers are in (or when the dossiers were already there): the portal can open while the
    rest are walked (the units split the reviews once every dossier is in). `processes` > 1
    walks the dossiers in that many forked processes (a database other processes can see)."""
    say = progress or (lambda line: None)
    ready = on_first_batch or (lambda: None)
    summary = DemoSummary()
    summary.procedures = len(catalog_load())
    say(_("Danh mục thủ tục: %(procedures)d thủ tục, %(agencies)d cơ quan") % {
        "procedures": summary.procedures, "agencies": Agency.objects.count()})
    users = demo_accounts_ensure()
    summary.accounts = [a[0] for a in ACCOUNTS]
    say(_("Tài khoản demo: %(count)d (%(roles)d theo vai trò, %(others)d doanh nghiệp mẫu)") % {
        "count": len(users), "roles": len(ACCOUNTS), "others": len(EXTRA_APPLICANTS)})
    if Dossier.objects.exists():
        demo_units_ensure()
        summary.skipped = True
        summary.dossiers = Dossier.objects.count()
        say(_("Hồ sơ demo: đã có %(count)d hồ sơ, không thêm hồ sơ mới") % {
            "count": summary.dossiers})
        ready()
        return summary
    now = now or clock.now()
    rnd = random.Random(seed)
    procedures = list(Procedure.objects.filter(is_active=True).prefetch_related("components"))
    walker = _Walker(rnd=rnd, users=users, now=now, titles=sorted({
        component.name for procedure in procedures for component in procedure.components.all()
        if component.must_be_signed}))
    say(_("Chữ ký số demo: đã tin cậy chứng thư gốc thử nghiệm cho người nộp hồ sơ"))
    plan = _plan(rnd=rnd, procedures=procedures, dossiers=max(dossiers, 0),
                 first_batch=first_batch)
    report_after = _progress_steps(dossiers)
    walked = 0

    def done(state: str) -> None:
        nonlocal walked
        walked += 1
        summary.by_state[state] = summary.by_state.get(state, 0) + 1
        if walked == min(first_batch, dossiers):
            _deliver_owed()  # the portal opens with every email and portal message out
            ready()
        elif walked % DELIVER_EVERY == 0:
            _deliver_owed()
        if walked in report_after:
            say(_("Hồ sơ demo: %(done)d/%(total)d (%(percent)d%%)") % {
                "done": walked, "total": dossiers, "percent": walked * 100 // dossiers})

    # Nobody wants ~3,000 demo emails; the console backend stays for the running portal.
    # Each change's email and portal messages are written with it and go out in batches, not
    # by a task after every change (forked walkers inherit the deferral; this process sends).
    # Nor does anyone read the walk's ~150 statements per dossier that the demo's DEBUG would
    # keep in memory (formatting each one's values for the log takes one more query).
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
                           DEBUG=False), \
            tasks_deferred(*DEFERRED_TASKS):
        _walk_all(plan, procedures={p.pk: p for p in procedures}, walker=walker,
                  processes=processes, done=done)
        with clock.frozen_at(now):
            summary.overdue = len(dossier_flag_overdue(now=now))
        _deliver_owed()
    # The units come after the walk: there the one demo specialist does every review.
    demo_units_ensure()
    summary.dossiers = sum(summary.by_state.values())
    say(_("Hồ sơ quá hạn đã báo cho cán bộ: %(count)d") % {"count": summary.overdue})
    if first_batch <= 0 or dossiers <= 0:
        ready()
    return summary

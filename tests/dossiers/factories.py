"""Factories: states are created directly through traits, never by walking transitions."""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

import factory

from dossiers.models import (
    Agency,
    DocumentComponent,
    Dossier,
    Procedure,
    ProcessStep,
)
from portal.models import User

FORM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "applicant_name": {"type": "string", "minLength": 1, "title": "Tên tổ chức"},
        "tax_code": {"type": "string", "pattern": "^[0-9]{10}([0-9]{3})?$", "title": "MST"},
        "capacity_m3": {"type": "number", "exclusiveMinimum": 0, "title": "Sức chứa"},
    },
    "required": ["applicant_name", "tax_code"],
}
VALID_FORM = {"applicant_name": "Công ty TNHH Xăng dầu Đông Hà", "tax_code": "3200123456"}
_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.vn")
    full_name = factory.Faker("name", locale="vi_VN")
    password = factory.PostGenerationMethodCall("set_password", "matkhau-demo-2025")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or ():
            group, _ = Group.objects.get_or_create(name=name)
            self.groups.add(group)
        if create:
            self.save()


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = "sct"
    name = "Sở Công Thương tỉnh Quảng Trị"


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure
        skip_postgeneration_save = True

    national_code = factory.Sequence(lambda n: f"9.{n:06d}")
    name = factory.Sequence(lambda n: f"Cấp giấy phép thử nghiệm {n}")
    sector = "Lưu thông hàng hóa trong nước"
    agency = factory.SubFactory(AgencyFactory)
    online_level = Procedure.OnlineLevel.FULL
    processing_days = Decimal("5")
    fee_vnd = 0
    fee_due = Procedure.FeeDue.EXEMPT
    form_schema = factory.LazyFunction(lambda: dict(FORM_SCHEMA))

    class Params:
        fee_at_submission = factory.Trait(fee_vnd=1_200_000, fee_due=Procedure.FeeDue.SUBMISSION)
        fee_before_result = factory.Trait(fee_vnd=500_000, fee_due=Procedure.FeeDue.RESULT)
        restart_on_supplement = factory.Trait(
            supplement_clock=Procedure.SupplementClock.RESTART
        )

    @factory.post_generation
    def structure(self, create, extracted, **kwargs):
        if not create:
            return
        ProcessStep.objects.bulk_create([
            ProcessStep(procedure=self, order=1, code="reception", name="Tiếp nhận",
                        role="reception", budget_days=Decimal("0.5")),
            ProcessStep(procedure=self, order=2, code="review", name="Thẩm định",
                        role="specialist", budget_days=self.processing_days - 2),
            ProcessStep(procedure=self, order=3, code="approval", name="Phê duyệt",
                        role="leader", budget_days=Decimal("1")),
            ProcessStep(procedure=self, order=4, code="result", name="Trả kết quả",
                        role="reception", budget_days=Decimal("0.5")),
        ])
        DocumentComponent.objects.bulk_create([
            DocumentComponent(procedure=self, order=1, code="don_de_nghi",
                              name="Đơn đề nghị", mandatory=True,
                              accepted_types=["application/pdf"]),
            DocumentComponent(procedure=self, order=2, code="ban_ve", name="Bản vẽ mặt bằng",
                              mandatory=False,
                              accepted_types=["application/pdf", "image/jpeg", "image/png"]),
        ])


class DossierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dossier

    procedure = factory.SubFactory(ProcedureFactory)
    applicant = factory.SubFactory(UserFactory, roles=["applicant"], kind="business")
    reception_agency = factory.SelfAttribute("procedure.agency")
    handling_agency = factory.SelfAttribute("procedure.agency")
    form_data = factory.LazyFunction(lambda: dict(VALID_FORM))
    state = Dossier.State.DRAFT

    class Params:
        submitted = factory.Trait(
            state=Dossier.State.SUBMITTED,
            code=factory.LazyFunction(lambda: f"SCT-TEST-{next(_seq):05d}"),
            submitted_at=factory.LazyFunction(timezone.now),
        )
        processing = factory.Trait(
            submitted=True,
            state=Dossier.State.PROCESSING,
            received_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=1)),
            due_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=6)),
            due_soon_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=5)),
        )
        overdue = factory.Trait(
            processing=True,
            received_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=12)),
            due_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=2)),
            due_soon_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=3)),
        )
        pending_approval = factory.Trait(processing=True, state=Dossier.State.PENDING_APPROVAL)
        approved = factory.Trait(processing=True, state=Dossier.State.APPROVED)
        result_ready = factory.Trait(
            processing=True, state=Dossier.State.RESULT_READY,
            completed_at=factory.LazyFunction(timezone.now), outcome=Dossier.Outcome.EARLY,
        )

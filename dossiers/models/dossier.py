"""The dossier, its workflow, its clock pauses and its hash-chained transition log."""

import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from django_fsm import FSMField, FSMModelMixin, transition

from portal.models import ConstraintsCheckedAtOnce, TimeStampedModel
from portal.prepared import Prepared
from portal.roles import Role

from ..querysets import DossierQuerySet, DossierTransitionQuerySet
from .catalog import Agency, Procedure, ProcessStep


class DailyCounter(models.Model):
    """The per-agency daily sequence behind dossier codes; incremented with one upsert."""

    agency = models.ForeignKey(Agency, verbose_name=_("cơ quan"), on_delete=models.CASCADE)
    day = models.DateField(_("ngày"))
    value = models.PositiveIntegerField(_("số thứ tự đã cấp"), default=0)

    class Meta:
        verbose_name = _("bộ đếm mã hồ sơ theo ngày")
        verbose_name_plural = _("bộ đếm mã hồ sơ theo ngày")
        constraints = [
            models.UniqueConstraint(fields=["agency", "day"], name="daily_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.day}: {self.value}"


# The states a dossier waits in an officers' queue before its result (every open state after
# submission), and those whose clock runs: the conditions of the partial indexes below. Kept in
# step with `Dossier.OPEN_STATES` and `IN_PROGRESS_STATES` (tested).
QUEUE_INDEX_STATES = (
    "submitted", "needs_completion", "processing", "awaiting_supplement", "suspended",
    "pending_approval", "approved",
)
IN_PROGRESS_INDEX_STATES = (
    "processing", "awaiting_supplement", "suspended", "pending_approval", "approved",
)
# Received at one agency's desk for another agency: the queue's second part (scoping.py).
RECEIVED_FOR_ANOTHER = ~Q(handling_agency=F("reception_agency"))
# The two groups of the queue's states, as its partial indexes hold them: the states before the
# result, and the results waiting to be handed out. The queue repeats them in its reads on
# SQLite, which uses a partial index only for a query that states the index's own condition.
QUEUE_BEFORE_RESULT = Q(state__in=QUEUE_INDEX_STATES)
QUEUE_RESULT_READY = Q(state="result_ready")


def _queue_index(column: str, name: str, condition: Q) -> models.Index:
    """The officers' queue of one agency column in its order (queue_key, id)."""
    return models.Index(F(column), Coalesce("due_at", "submitted_at"), F("id"), name=name,
                        condition=condition)


def _new_lookup_secret() -> str:
    return secrets.token_urlsafe(9)


def _is_applicant(instance: "Dossier", user) -> bool:
    return user.pk == instance.applicant_id and user.has_role(Role.APPLICANT)


def unit_bound(user) -> bool:
    """A specialist placed in a unit (and holding no agency-wide role) works on the dossiers
    whose current step that unit owns and those assigned to them; a specialist in no unit
    (an agency not divided into units) works on the agency's, as reception and leaders do."""
    return bool(
        getattr(user, "unit_code", "") and user.has_role(Role.SPECIALIST)
        and not user.has_role(Role.RECEPTION, Role.LEADER, Role.MANAGER)
    )


def in_unit_scope(instance: "Dossier", user) -> bool:
    """Whether the unit rule lets the user at this dossier (the agency is checked apart)."""
    if not unit_bound(user) or instance.assignee_id == user.pk:
        return True
    unit = instance.current_unit
    return unit is not None and unit.code == user.unit_code and unit.agency_id == (
        instance.handling_agency_id
    )


def _role(*roles: str):
    def check(instance: "Dossier", user) -> bool:
        return (user.has_role(*roles) and user.agency_code == instance.handling_agency.code
                and in_unit_scope(instance, user))

    check.__name__ = f"has_role_{'_'.join(roles)}"
    return check


def _reception_here(instance: "Dossier", user) -> bool:
    """A reception officer of the agency where the dossier was handed in (a desk anywhere in
    the province, Decree 118/2025)."""
    return user.has_role(Role.RECEPTION) and user.agency_code == instance.reception_agency.code


def _reception_handling_or_desk(instance: "Dossier", user) -> bool:
    """A reception officer of the handling agency, or of the desk where the dossier was handed
    in: a result is handed out where the applicant filed it (Decree 118/2025)."""
    return user.has_role(Role.RECEPTION) and user.agency_code in (
        instance.handling_agency.code, instance.reception_agency.code)


def _no_submission_problems(instance: "Dossier") -> bool:
    return not instance.submission_problems


def _signatures_reviewed(instance: "Dossier") -> bool:
    return not instance.signatures_unreviewed


def _complete_if_filed_by_a_portal(instance: "Dossier") -> bool:
    """A dossier a portal filed here skipped our submission checks: reception takes it only
    once its form and mandatory papers pass them (the papers can be taken at the desk)."""
    if not instance.external_code:
        return True  # submitted here: `submit` checked it
    # The same checks as a submission here (and as `supply` and `resubmit` later): form,
    # mandatory papers, their signatures, a fee due at submission (recorded at the desk).
    return not instance.submission_problems


def _supplement_lapsed(instance: "Dossier") -> bool:
    """The reply deadline of the supplement the dossier waits for has passed."""
    return instance.supplement_lapsed is not None


def _expiry_says_return(instance: "Dossier") -> bool:
    return instance.procedure.supplement_expiry == Procedure.SupplementExpiry.RETURN


def _expiry_says_refuse(instance: "Dossier") -> bool:
    return instance.procedure.supplement_expiry == Procedure.SupplementExpiry.REFUSE


def _result_fee_settled(instance: "Dossier") -> bool:
    return not instance.result_fee_outstanding


def _step_owner(instance: "Dossier", user) -> bool:
    step = instance.current_step
    return (
        step is not None and user.has_role(step.role)
        and user.agency_code == instance.handling_agency.code and in_unit_scope(instance, user)
    )


def _next_step_same_role(instance: "Dossier") -> bool:
    following = instance.next_step
    return following is not None and following.role == instance.current_step.role


def _no_step_of_this_role_left(instance: "Dossier") -> bool:
    return instance.current_step_id is None or not _next_step_same_role(instance)


def _signed_papers(*, shape, dossier_id: int):
    from .documents import Document

    return Document.objects.filter(dossier_id=dossier_id, is_current=True,
                                   component__must_be_signed=True).select_related("component")


# Compiled once per process: the approval checks read a dossier's signed papers this way.
_SIGNED_PAPERS = Prepared(_signed_papers, dossier_id=int)


class Dossier(ConstraintsCheckedAtOnce, FSMModelMixin, TimeStampedModel):
    class State(models.TextChoices):
        DRAFT = "draft", _("Đang soạn")
        SUBMITTED = "submitted", _("Chờ tiếp nhận")
        NEEDS_COMPLETION = "needs_completion", _("Yêu cầu hoàn thiện hồ sơ")
        REJECTED = "rejected", _("Từ chối tiếp nhận")
        PROCESSING = "processing", _("Đang xử lý")
        AWAITING_SUPPLEMENT = "awaiting_supplement", _("Yêu cầu bổ sung hồ sơ")
        SUSPENDED = "suspended", _("Tạm dừng")
        PENDING_APPROVAL = "pending_approval", _("Chờ phê duyệt")
        APPROVED = "approved", _("Đã phê duyệt")
        REFUSED = "refused", _("Từ chối giải quyết")
        RESULT_READY = "result_ready", _("Chờ trả kết quả")
        RETURNED = "returned", _("Đã trả kết quả")
        WITHDRAWN = "withdrawn", _("Rút hồ sơ")
        # Ended because the supplement asked for never came: reception returned the papers.
        RETURNED_UNANSWERED = "returned_unanswered", _("Trả lại do không bổ sung")

    OPEN_STATES = (
        State.DRAFT, State.SUBMITTED, State.NEEDS_COMPLETION, State.PROCESSING,
        State.AWAITING_SUPPLEMENT, State.SUSPENDED, State.PENDING_APPROVAL, State.APPROVED,
    )
    # Received (the clock runs or is paused) and not completed.
    IN_PROGRESS_STATES = (
        State.PROCESSING, State.AWAITING_SUPPLEMENT, State.SUSPENDED,
        State.PENDING_APPROVAL, State.APPROVED,
    )
    WITHDRAWABLE_STATES = list(OPEN_STATES[1:])  # every open state after submission

    class Channel(models.TextChoices):
        ONLINE = "online", _("Trực tuyến")
        COUNTER = "counter", _("Trực tiếp")
        POST = "post", _("Bưu chính công ích")
        NATIONAL_PORTAL = "national_portal", _("Cổng DVC quốc gia")
        PROVINCIAL_PORTAL = "provincial_portal", _("Cổng DVC tỉnh")

    class Outcome(models.TextChoices):
        EARLY = "early", _("Trước hạn")
        ON_TIME = "on_time", _("Đúng hạn")
        LATE = "late", _("Quá hạn")

    code = models.CharField(_("mã hồ sơ"), max_length=64, unique=True, null=True, blank=True)
    lookup_secret = models.CharField(
        _("mã tra cứu bí mật"), max_length=32, default=_new_lookup_secret, editable=False,
    )
    procedure = models.ForeignKey(
        Procedure, verbose_name=_("thủ tục"), on_delete=models.PROTECT, related_name="dossiers",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người nộp hồ sơ"), on_delete=models.PROTECT,
        related_name="dossiers",
    )
    on_behalf_name = models.CharField(_("người được ủy quyền"), max_length=255, blank=True)
    channel = models.CharField(
        _("kênh nộp"), max_length=32, choices=Channel.choices, default=Channel.ONLINE
    )
    reception_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="received_dossiers",
        verbose_name=_("nơi tiếp nhận"),
    )
    handling_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="handled_dossiers",
        verbose_name=_("cơ quan giải quyết"),
    )
    form_data = models.JSONField(_("dữ liệu biểu mẫu"), default=dict, blank=True)
    state = FSMField(
        _("trạng thái"), max_length=32, choices=State.choices, default=State.DRAFT,
        protected=True, db_index=True,
    )
    version = models.PositiveIntegerField(_("phiên bản"), default=1)

    submitted_at = models.DateTimeField(_("ngày nộp"), null=True, blank=True)
    received_at = models.DateTimeField(_("ngày tiếp nhận"), null=True, blank=True)
    due_at = models.DateTimeField(_("ngày hẹn trả"), null=True, blank=True, db_index=True)
    due_soon_at = models.DateTimeField(_("sắp đến hạn từ"), null=True, blank=True)
    new_appointment_at = models.DateTimeField(_("ngày hẹn lại"), null=True, blank=True)
    completed_at = models.DateTimeField(_("ngày có kết quả"), null=True, blank=True)
    returned_at = models.DateTimeField(_("ngày trả kết quả"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("ngày rút hồ sơ"), null=True, blank=True)
    paused_at = models.DateTimeField(_("tạm dừng từ"), null=True, blank=True)
    outcome = models.CharField(
        _("kết quả đúng hạn"), max_length=16, choices=Outcome.choices, blank=True
    )
    overdue_notified_at = models.DateTimeField(_("đã báo quá hạn lúc"), null=True, blank=True)

    current_step = models.ForeignKey(
        ProcessStep, verbose_name=_("bước hiện tại"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    step_started_at = models.DateTimeField(_("bắt đầu bước lúc"), null=True, blank=True)
    step_due_at = models.DateTimeField(_("hạn của bước"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người xử lý"), null=True, blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_dossiers",
    )
    reason = models.TextField(_("lý do gần nhất"), blank=True)
    # Hash of the newest transition log row, so the chain can be extended without a read.
    audit_head = models.CharField(
        _("mã băm nhật ký mới nhất"), max_length=64, blank=True, editable=False,
    )
    # A dossier submitted on a remote portal: its code there and the files it holds for us.
    external_code = models.CharField(
        _("mã hồ sơ trên cổng"), max_length=64, unique=True, null=True, blank=True
    )
    external_documents = models.JSONField(
        _("tài liệu trên cổng"), default=list, blank=True, editable=False
    )

    objects = DossierQuerySet.as_manager()

    class Meta:
        verbose_name = _("hồ sơ")
        verbose_name_plural = _("hồ sơ")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["handling_agency", "state", "due_at"], name="dossier_queue_idx"),
            models.Index(fields=["assignee", "state"], name="dossier_assignee_idx"),
            # The officers' queue, one agency column and one group of states at a time: the
            # states before the result, and the results waiting to be handed out.
            _queue_index("handling_agency", "dossier_queue_handling_idx", QUEUE_BEFORE_RESULT),
            _queue_index("reception_agency", "dossier_queue_reception_idx",
                         QUEUE_BEFORE_RESULT & RECEIVED_FOR_ANOTHER),
            _queue_index("handling_agency", "dossier_ready_handling_idx", QUEUE_RESULT_READY),
            _queue_index("reception_agency", "dossier_ready_reception_idx",
                         QUEUE_RESULT_READY & RECEIVED_FOR_ANOTHER),
            # The open figures of the indicators, read from the index alone.
            models.Index(
                fields=["handling_agency", "procedure", "channel", "received_at", "due_at",
                        "paused_at"],
                name="dossier_in_progress_idx", condition=Q(state__in=IN_PROGRESS_INDEX_STATES),
            ),
            # The overdue list of one agency in its order (due_at, id), holding every column
            # of its rows: the export reads this index alone, not a heap page per dossier.
            models.Index(
                fields=["handling_agency", "due_at", "id", "code", "state", "received_at",
                        "procedure", "assignee", "current_step"],
                name="dossier_overdue_idx",
                condition=Q(state__in=IN_PROGRESS_INDEX_STATES, paused_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(received_at__isnull=True) | Q(due_at__isnull=False),
                name="dossier_received_has_due",
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | ~Q(outcome="")
                | Q(state="withdrawn"),
                name="dossier_completed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(code__isnull=False),
                name="dossier_code_after_draft",
            ),
        ]

    def __str__(self) -> str:
        return self.code or f"#{self.pk} ({self.get_state_display()})"

    def get_state_display(self) -> str:
        """The state's label, as Django's own method gives it, without hashing every lazy
        label of the choices on each call (a list of 25 dossiers paid milliseconds for it)."""
        return str(_STATE_LABELS.get(self.state, self.state))

    # Conditions read the facts the service gathered (`submission_problems`), so they stay
    # pure predicates and the checks cost no extra queries.
    @cached_property
    def submission_problems(self) -> dict:
        """What keeps the dossier from going to (or back to) the agency: checked at submit,
        resubmit and supply. Only current versions count, prefetched or not."""
        problems: dict = {}
        errors = self.procedure.form_errors(self.form_data)
        if errors:
            problems["form"] = errors
        documents = [doc for doc in self.documents.all() if doc.is_current]
        present = {doc.component_id for doc in documents}
        missing = [
            c.code for c in self.procedure.components.all() if c.mandatory and c.pk not in present
        ]
        if missing:
            problems["missing_components"] = missing
        signatures = {
            doc.component.code: problem
            for doc in documents
            if doc.component.must_be_signed and (problem := doc.signature_problem)
        }
        if signatures:
            problems["invalid_signatures"] = signatures
        if self.procedure.fee_due_at_submission and not self.fee_paid:
            problems["payment_required"] = self.procedure.fee_vnd
        return problems

    @property
    def signatures_unreviewed(self) -> list[str]:
        """Must-be-signed components whose signature an officer has not accepted although the
        verifier could not settle it or the signer is not the applicant: still waiting for a
        decision, or refused by one (the applicant must then send another file)."""
        from signatures.report import review_reasons

        if "documents" in getattr(self, "_prefetched_objects_cache", {}):
            documents = self.documents.all()
        else:
            # Not read with the dossier: only its current must-be-signed documents, each with
            # its component, in one query (not one more per document).
            documents = _SIGNED_PAPERS.rows(dossier_id=self.pk)
        return [
            doc.component.code for doc in documents
            if doc.is_current and doc.component.must_be_signed
            and doc.signature_decision != "accepted"
            and review_reasons(verdict=doc.signature_verdict, report=doc.signature_report)
        ]

    @cached_property
    def fee_paid(self) -> bool:
        return any(p.holds_fee for p in self.payments.all())

    @cached_property
    def supplement_lapsed(self):
        """The supplement request whose reply deadline has passed unanswered (marked expired
        or not yet), while the dossier still waits for it; None otherwise."""
        from portal import clock

        from .supplements import SupplementRequest

        if self.state != self.State.AWAITING_SUPPLEMENT:
            return None
        request = (SupplementRequest.objects.filter(dossier=self)
                   .exclude(status=SupplementRequest.Status.ANSWERED)
                   .order_by("-requested_at", "-id").first())
        if request is None or request.reply_by > clock.now():
            return None
        return request

    @property
    def result_fee_outstanding(self) -> bool:
        p = self.procedure
        return p.fee_vnd > 0 and p.fee_due == Procedure.FeeDue.RESULT and not self.fee_paid

    @property
    def current_unit(self):
        """The unit (phòng chuyên môn) holding the dossier: the owner of its current step, or
        None while the step belongs to the whole agency."""
        return self.current_step.unit if self.current_step_id else None

    @property
    def next_step(self) -> ProcessStep | None:
        """The process step after the current one, by order (read from the loaded steps)."""
        if self.current_step_id is None:
            return None
        order = self.current_step.order
        return min(
            (s for s in self.procedure.steps.all() if s.order > order),
            key=lambda s: s.order, default=None,
        )

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    # --- transitions: they change this row's fields only; the service does the rest ---

    @transition(
        field=state, source=State.DRAFT, target=State.SUBMITTED,
        conditions=[_no_submission_problems], permission=_is_applicant,
    )
    def submit(self, *, at: datetime, code: str) -> None:
        self.submitted_at = at
        self.code = code

    @transition(
        field=state, source=State.DRAFT, target=State.SUBMITTED, permission=_reception_here,
    )
    def register(self, *, at: datetime, code: str) -> None:
        """Reception registers a dossier handed in at its desk or by post."""
        self.submitted_at = at
        self.code = code

    @transition(
        field=state, source=State.NEEDS_COMPLETION, target=State.SUBMITTED,
        conditions=[_no_submission_problems], permission=_is_applicant,
    )
    def resubmit(self, *, at: datetime) -> None:
        self.submitted_at = at

    @transition(
        field=state, source=State.SUBMITTED, target=State.NEEDS_COMPLETION,
        permission=_role(Role.RECEPTION),
    )
    def return_for_completion(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.SUBMITTED, target=State.REJECTED,
        permission=_role(Role.RECEPTION),
    )
    def refuse_at_reception(self, *, at: datetime) -> None:
        self.completed_at = None

    @transition(
        field=state, source=State.SUBMITTED, target=State.PROCESSING,
        conditions=[_complete_if_filed_by_a_portal, _signatures_reviewed],
        permission=_role(Role.RECEPTION),
    )
    def accept(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.received_at = at
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=State.PROCESSING, target=State.AWAITING_SUPPLEMENT,
        permission=_role(Role.SPECIALIST),
    )
    def request_supplement(self, *, at: datetime) -> None:
        self.paused_at = at

    @transition(
        field=state, source=State.AWAITING_SUPPLEMENT, target=State.PROCESSING,
        conditions=[_no_submission_problems], permission=_is_applicant,
    )
    def supply(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.paused_at = None
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=State.PROCESSING, target=State.SUSPENDED,
        permission=_role(Role.SPECIALIST),
    )
    def suspend(self, *, at: datetime) -> None:
        self.paused_at = at

    @transition(
        field=state, source=State.SUSPENDED, target=State.PROCESSING,
        permission=_role(Role.SPECIALIST),
    )
    def resume(self, *, at: datetime, due_at: datetime, due_soon_at: datetime) -> None:
        self.paused_at = None
        self.due_at = due_at
        self.due_soon_at = due_soon_at

    @transition(
        field=state, source=[State.PROCESSING, State.PENDING_APPROVAL], target=None,
        conditions=[_next_step_same_role], permission=_step_owner,
    )
    def advance_step(self, *, at: datetime) -> None:
        """Hand over to the next step of the same role (a second review, a second signature)."""

    @transition(
        field=state, source=State.PROCESSING, target=State.PENDING_APPROVAL,
        conditions=[_no_step_of_this_role_left, _signatures_reviewed],
        permission=_role(Role.SPECIALIST),
    )
    def propose(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.PROCESSING,
        permission=_role(Role.LEADER),
    )
    def send_back(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.APPROVED,
        conditions=[_no_step_of_this_role_left], permission=_role(Role.LEADER),
    )
    def approve(self, *, at: datetime) -> None:
        pass

    @transition(
        field=state, source=State.PENDING_APPROVAL, target=State.REFUSED,
        permission=_role(Role.LEADER),
    )
    def refuse(self, *, at: datetime, outcome: str) -> None:
        self.completed_at = at
        self.outcome = outcome

    @transition(
        field=state, source=State.APPROVED, target=State.RESULT_READY,
        permission=_role(Role.LEADER),
    )
    def issue_result(self, *, at: datetime, outcome: str) -> None:
        self.completed_at = at
        self.outcome = outcome

    @transition(
        field=state, source=State.RESULT_READY, target=State.RETURNED,
        conditions=[_result_fee_settled], permission=_reception_handling_or_desk,
    )
    def return_result(self, *, at: datetime) -> None:
        self.returned_at = at

    @transition(
        field=state, source=State.AWAITING_SUPPLEMENT, target=State.RETURNED_UNANSWERED,
        conditions=[_supplement_lapsed, _expiry_says_return], permission=_role(Role.RECEPTION),
    )
    def return_unanswered(self, *, at: datetime) -> None:
        """Reception returns the dossier whose supplement never came: it ends without a
        decision (no outcome), the papers go back with form 02 listing what was missing."""
        self.returned_at = at
        self.paused_at = None

    @transition(
        field=state, source=State.AWAITING_SUPPLEMENT, target=State.REFUSED,
        conditions=[_supplement_lapsed, _expiry_says_refuse], permission=_role(Role.LEADER),
    )
    def refuse_unanswered(self, *, at: datetime, outcome: str, due_at: datetime) -> None:
        """The leader refuses the dossier whose supplement never came (signed notice): the
        unanswered wait is added to the due time, as a supply would have, before the outcome."""
        self.paused_at = None
        self.due_at = due_at
        self.completed_at = at
        self.outcome = outcome

    @transition(
        field=state, source=WITHDRAWABLE_STATES, target=State.WITHDRAWN,
        permission=_is_applicant,
    )
    def withdraw(self, *, at: datetime) -> None:
        self.withdrawn_at = at
        self.paused_at = None


# The label of each state, read by `Dossier.get_state_display`.
_STATE_LABELS = dict(Dossier.State.choices)


class ClockInterval(models.Model):
    """A span during which the SLA clock stood still (supplement owed, suspension)."""

    class Kind(models.TextChoices):
        SUPPLEMENT = "supplement", _("Chờ bổ sung")
        SUSPENSION = "suspension", _("Tạm dừng")

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.CASCADE, related_name="pauses",
    )
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    policy = models.CharField(
        _("cách tính khi bổ sung"), max_length=16, choices=Procedure.SupplementClock.choices,
    )
    started_at = models.DateTimeField(_("bắt đầu"))
    ended_at = models.DateTimeField(_("kết thúc"), null=True, blank=True)
    reason = models.TextField(_("lý do"), blank=True)
    working_minutes = models.PositiveIntegerField(_("số phút làm việc"), null=True, blank=True)

    class Meta:
        verbose_name = _("khoảng dừng tính thời hạn")
        verbose_name_plural = _("khoảng dừng tính thời hạn")
        ordering = ["dossier", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(ended_at__isnull=True),
                name="one_open_pause_per_dossier",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="pause_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%d/%m/%Y %H:%M}"


class DossierTransition(models.Model):
    """Append-only history, one row per state change, chained by hash per dossier."""

    dossier = models.ForeignKey(
        Dossier, verbose_name=_("hồ sơ"), on_delete=models.PROTECT, related_name="transitions",
    )
    name = models.CharField(_("thao tác"), max_length=32)
    from_state = models.CharField(_("từ trạng thái"), max_length=32)
    to_state = models.CharField(_("sang trạng thái"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người thực hiện"), null=True, blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("tên người thực hiện"), max_length=255, blank=True)
    at = models.DateTimeField(_("thời điểm"))
    reason = models.TextField(_("lý do"), blank=True)
    step = models.CharField(_("bước"), max_length=32, blank=True)
    clock_effect = models.CharField(_("tác động đến thời hạn"), max_length=16, blank=True)
    details = models.JSONField(_("chi tiết"), default=dict, blank=True)
    prev_hash = models.CharField(_("mã băm dòng trước"), max_length=64, blank=True)
    hash = models.CharField(_("mã băm"), max_length=64, unique=True)

    objects = DossierTransitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("nhật ký xử lý")
        verbose_name_plural = _("nhật ký xử lý")
        ordering = ["dossier", "id"]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError(_("Nhật ký xử lý chỉ được ghi thêm, không được sửa."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Nhật ký xử lý không được xóa."))

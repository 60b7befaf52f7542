"""Work distribution and the overdue sweep."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock
from portal.roles import Role

from ..exceptions import DossierNotFound, InvalidTransition, StaleVersion, TransitionForbidden
from ..models import Dossier, Notification, Rating
from ..models.dossier import in_unit_scope
from .indicators import summary_add
from .notifications import notification_queue
from .steps import step_take
from .transitions import dossier_locked

User = get_user_model()


def _check_officer(dossier: Dossier, actor) -> None:
    if not (actor.has_role(*Role.OFFICERS) and actor.agency_code == dossier.handling_agency.code
            and in_unit_scope(dossier, actor)):
        raise DossierNotFound()
    if dossier.state not in Dossier.IN_PROGRESS_STATES + (Dossier.State.SUBMITTED,):
        raise InvalidTransition(_("Hồ sơ không còn trong quá trình xử lý."))


@transaction.atomic(durable=True)
def dossier_claim(*, dossier_id: int, actor, version: int | None = None) -> Dossier:
    """An officer takes an unassigned dossier of their agency."""
    dossier = dossier_locked(dossier_id)
    _check_officer(dossier, actor)
    if version is not None and version != dossier.version:
        raise StaleVersion(extra={"current_version": dossier.version})
    if dossier.assignee_id not in (None, actor.pk):
        raise InvalidTransition(
            _("Hồ sơ đã được giao cho người khác."), extra={"assignee": dossier.assignee_id}
        )
    dossier.assignee = actor
    dossier.version += 1
    dossier.save(update_fields=["assignee", "version", "updated_at"])
    step_take(dossier=dossier, officer=actor)
    return dossier


@transaction.atomic(durable=True)
def dossier_assign(
    *, dossier_id: int, actor, assignee_id: int, version: int | None = None
) -> Dossier:
    """A leader assigns a dossier to an officer of the same agency."""
    dossier = dossier_locked(dossier_id)
    _check_officer(dossier, actor)
    if not actor.has_role(Role.LEADER):
        raise TransitionForbidden(_("Chỉ lãnh đạo được giao hồ sơ."))
    if version is not None and version != dossier.version:
        raise StaleVersion(extra={"current_version": dossier.version})
    assignee = User.objects.filter(
        pk=assignee_id, agency_code=dossier.handling_agency.code,
        groups__name__in=Role.OFFICERS, is_active=True,
    ).first()
    if assignee is None:
        raise InvalidTransition(
            _("Người được giao không phải cán bộ của cơ quan."), extra={"assignee": assignee_id}
        )
    dossier.assignee = assignee
    dossier.version += 1
    dossier.save(update_fields=["assignee", "version", "updated_at"])
    step_take(dossier=dossier, officer=assignee)
    return dossier


def dossier_flag_overdue(*, now: datetime | None = None) -> list[int]:
    """Mark newly overdue dossiers and queue the email to their assignee and the agency's
    managers, in one transaction per dossier: a flagged dossier always has its email queued,
    and an email that fails is retried from its row."""
    now = now or clock.now()
    flagged = []
    ids = list(
        Dossier.objects.overdue(now=now).filter(overdue_notified_at__isnull=True)
        .values_list("pk", flat=True)[:1000]
    )
    for dossier_id in ids:
        with transaction.atomic():
            updated = Dossier.objects.filter(
                pk=dossier_id, overdue_notified_at__isnull=True
            ).update(overdue_notified_at=now)
            if updated:
                flagged.append(dossier_id)
                notification_queue(
                    dossier=Dossier(pk=dossier_id), kind=Notification.Kind.OVERDUE, at=now
                )
    return flagged


RATING_SCORES = (1, 2, 3, 4, 5)


def rating_allowed(*, dossier: Dossier) -> bool:
    """Whether the dossier's applicant may rate it now: it has a result and no rating yet."""
    return dossier.completed_at is not None and not Rating.objects.filter(dossier=dossier).exists()


@transaction.atomic(durable=True)
def rating_create(*, dossier_id: int, actor, score: int, comment: str = "") -> Rating:
    """The applicant rates a completed dossier, once."""
    dossier = dossier_locked(dossier_id)
    if dossier.applicant_id != actor.pk:
        raise DossierNotFound()
    if dossier.completed_at is None:
        raise InvalidTransition(_("Chỉ đánh giá được hồ sơ đã có kết quả."))
    if not rating_allowed(dossier=dossier):
        raise InvalidTransition(_("Hồ sơ đã được đánh giá."))
    rating = Rating(dossier=dossier, score=score, comment=comment)
    rating.full_clean()
    rating.save()
    summary_add(
        dossier=dossier, at=dossier.completed_at, rated=1, rating_sum=score,
        satisfied=int(rating.satisfied),
    )
    return rating

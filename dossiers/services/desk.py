"""What reception does at the desk when a dossier ends: hand the refusal notice over, and
record the applicant's rating given there."""

from django.db import transaction
from django.utils.translation import gettext as _

from portal import clock
from portal.roles import Role

from ..exceptions import DossierNotFound, InvalidTransition, TransitionForbidden
from ..models import Dossier, Rating
from .audit import transition_log_append
from .indicators import summary_add
from .queue import rating_allowed
from .transitions import dossier_locked, effects_queue


def _reception_of(dossier: Dossier, actor) -> None:
    """A reception officer of the agency that handles the dossier or of the desk that took it."""
    if not actor.has_role(Role.RECEPTION):
        raise TransitionForbidden(_("Chỉ cán bộ Bộ phận Một cửa thực hiện việc này."))
    agencies = (dossier.handling_agency.code, dossier.reception_agency.code)
    if actor.agency_code not in agencies:
        raise DossierNotFound()


@transaction.atomic(durable=True)
def dossier_hand_over_refusal(*, dossier_id: int, actor) -> Dossier:
    """Reception hands the refusal notice to the applicant: logged, `returned_at` set, and
    pushed to the portals as status 10 (the state stays `refused`)."""
    dossier = dossier_locked(dossier_id)
    _reception_of(dossier, actor)
    if dossier.state != Dossier.State.REFUSED:
        raise InvalidTransition(_("Chỉ trả văn bản từ chối cho hồ sơ bị từ chối giải quyết."))
    if dossier.returned_at is not None:
        raise InvalidTransition(_("Văn bản từ chối đã được trả cho người nộp."))
    now = clock.now()
    dossier.returned_at = now
    dossier.version += 1
    log = transition_log_append(
        dossier=dossier, name="hand_over_refusal", from_state=dossier.state,
        to_state=dossier.state, actor=actor, actor_label=actor.display_name, at=now,
        reason="", step="", clock_effect="", details={},
    )
    dossier.save(update_fields=["returned_at", "version", "audit_head", "updated_at"])
    effects_queue(dossier=dossier, log=log, notify=False)
    return dossier


def handed_over(dossier: Dossier) -> bool:
    """The result (or the refusal notice) is in the applicant's hands."""
    return dossier.state in (Dossier.State.RETURNED, Dossier.State.REFUSED) and (
        dossier.returned_at is not None
    )


@transaction.atomic(durable=True)
def rating_record_at_desk(*, dossier_id: int, actor, score: int, comment: str = "") -> Rating:
    """Reception records the rating the applicant gives at the desk when the result is handed
    over; once per dossier, like an online rating."""
    dossier = dossier_locked(dossier_id)
    _reception_of(dossier, actor)
    if not handed_over(dossier):
        raise InvalidTransition(_("Chỉ ghi nhận đánh giá khi đã trả kết quả cho người nộp."))
    if not rating_allowed(dossier=dossier):
        raise InvalidTransition(_("Hồ sơ đã được đánh giá."))
    rating = Rating(dossier=dossier, score=score, comment=(comment or "").strip(),
                    channel=Rating.Channel.DESK, recorded_by=actor)
    rating.full_clean()
    rating.save()
    summary_add(
        dossier=dossier, at=dossier.completed_at, rated=1, rating_sum=score,
        satisfied=int(rating.satisfied),
    )
    return rating

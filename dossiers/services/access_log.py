"""Recording officers' reads of personal data (Decree 13/2023/NĐ-CP), one row per read."""

from portal import clock
from portal.roles import Role

from ..models import Document, Dossier, PersonalDataAccess


def personal_data_read_record(
    request, *, dossier: Dossier, what: str = PersonalDataAccess.What.DOSSIER,
    document: Document | None = None,
) -> PersonalDataAccess | None:
    """Record that the signed-in officer read `dossier` (or its `document`) through this
    request; applicants reading their own dossier are not recorded. The address is the
    connection's (REMOTE_ADDR): a forwarded header is the client's word, not evidence."""
    user = request.user
    if not user.is_authenticated or not user.has_role(*Role.STAFF):
        return None
    if document is not None:
        what = PersonalDataAccess.What.DOCUMENT
    match = getattr(request, "resolver_match", None)
    return PersonalDataAccess.objects.create(
        at=clock.now(), user=user, user_label=user.display_name[:255], dossier=dossier,
        what=what, document=document,
        route=(match.view_name if match else "")[:128], path=request.path[:512],
        ip=request.META.get("REMOTE_ADDR") or None,
    )

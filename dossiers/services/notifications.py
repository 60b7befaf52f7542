"""Emails to applicants and officers; called by tasks after the change has committed."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.roles import Role

from ..models import Dossier, DossierTransition

User = get_user_model()


def _fmt(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def notification_send_transition(*, transition_id: int) -> bool:
    """Tell the applicant what changed on their dossier; False if there is nobody to tell."""
    row = (
        DossierTransition.objects.select_related("dossier__applicant", "dossier__procedure")
        .filter(pk=transition_id)
        .first()
    )
    if row is None or not row.dossier.applicant.email:
        return False
    dossier = row.dossier
    subject_state = Dossier.State(row.to_state).label
    if row.name == "reschedule":
        subject_state = _("hẹn lại ngày trả kết quả")
        news = _(
            "Cơ quan giải quyết chân thành xin lỗi vì hồ sơ %(code)s (%(procedure)s) chưa thể "
            "trả kết quả đúng hẹn. Ngày hẹn trả kết quả mới: %(new)s."
        ) % {"code": dossier.code, "procedure": dossier.procedure.name,
             "new": _fmt(dossier.new_appointment_at)}
    else:
        news = _("Hồ sơ %(code)s (%(procedure)s) đã chuyển sang trạng thái: %(state)s.") % {
            "code": dossier.code or "", "procedure": dossier.procedure.name,
            "state": subject_state,
        }
    lines = [_("Kính gửi %(name)s,") % {"name": dossier.applicant.display_name}, "", news]
    if row.reason:
        lines.append(_("Lý do / nội dung: %(reason)s") % {"reason": row.reason})
    if dossier.due_at and row.to_state == Dossier.State.PROCESSING:
        lines.append(_("Ngày hẹn trả kết quả: %(due)s") % {"due": _fmt(dossier.due_at)})
    lines += [
        "",
        _("Tra cứu: %(url)s/tra-cuu/?code=%(code)s") % {
            "url": settings.PORTAL_BASE_URL, "code": dossier.code or "",
        },
    ]
    send_mail(
        subject=_("[Một Cửa] Hồ sơ %(code)s: %(state)s")
        % {"code": dossier.code or "", "state": subject_state},
        message="\n".join(str(line) for line in lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[dossier.applicant.email],
    )
    return True


def notification_send_overdue(*, dossier_id: int) -> list[str]:
    """Warn the assignee and the agency's managers that a dossier is overdue."""
    dossier = (
        Dossier.objects.select_related("assignee", "procedure", "handling_agency")
        .filter(pk=dossier_id).first()
    )
    if dossier is None:
        return []
    recipients = set(
        User.objects.filter(
            agency_code=dossier.handling_agency.code, groups__name=Role.MANAGER, is_active=True
        ).exclude(email="").values_list("email", flat=True)
    )
    if dossier.assignee and dossier.assignee.email:
        recipients.add(dossier.assignee.email)
    recipients.update(settings.OVERDUE_NOTIFY_FALLBACK)
    if not recipients:
        return []
    send_mail(
        subject=_("[Một Cửa] Hồ sơ %(code)s đã quá hạn") % {"code": dossier.code},
        message=_("Hồ sơ %(code)s (%(procedure)s) quá hạn từ %(due)s.")
        % {"code": dossier.code, "procedure": dossier.procedure.name, "due": _fmt(dossier.due_at)},
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=sorted(recipients),
    )
    return sorted(recipients)

"""The navigation of every page, by the signed-in user's roles."""

from django.utils.translation import gettext_lazy as _

from portal.roles import Role

_LINKS = (
    # (address, label, roles that see it; None: everyone)
    ("/", _("Thủ tục hành chính"), None),
    ("/tra-cuu/", _("Tra cứu hồ sơ"), None),
    ("/xac-thuc/", _("Xác thực văn bản"), None),
    ("/ho-so-cua-toi/", _("Hồ sơ của tôi"), (Role.APPLICANT,)),
    ("/can-bo/hang-doi/", _("Hàng đợi xử lý"), Role.OFFICERS),
    ("/can-bo/tiep-nhan/", _("Tiếp nhận hồ sơ"), (Role.RECEPTION,)),
    ("/quan-ly/chi-so/", _("Chỉ số phục vụ"), Role.SUPERVISORS),
    ("/admin/", _("Quản trị"), (Role.ADMIN,)),
)


def navigation(request):
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    links = []
    for href, label, roles in _LINKS:
        if roles is None or (signed_in and user.has_role(*roles)):
            current = request.path == href if href == "/" else request.path.startswith(href)
            links.append({"href": href, "label": label, "current": current})
    return {"nav_links": links}

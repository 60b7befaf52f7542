"""Who may open which pages: the roles of portal.roles, checked before any view runs."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from portal.roles import Role


def role_required(*roles: str):
    """Sign-in first (back to this page afterwards); a signed-in user without the role gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


applicant_required = role_required(Role.APPLICANT)
officer_required = role_required(*Role.OFFICERS)
supervisor_required = role_required(*Role.SUPERVISORS)


def home_for(user) -> str:
    """Where a user lands after signing in: the page of their job."""
    if not user.is_authenticated:
        return "/"
    if user.has_role(*Role.OFFICERS):
        return "/can-bo/hang-doi/"
    if user.has_role(Role.MANAGER):
        return "/quan-ly/chi-so/"
    if user.has_role(Role.ADMIN):
        return "/admin/"
    return "/ho-so-cua-toi/"

"""Role gates for the API; object and state rights live in selectors and the workflow."""

from rest_framework.permissions import BasePermission

from portal.roles import Role


class _HasRole(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(*self.roles))


class IsApplicant(_HasRole):
    roles = (Role.APPLICANT,)


class IsOfficer(_HasRole):
    roles = Role.OFFICERS


class IsSupervisor(_HasRole):
    roles = Role.SUPERVISORS


class IsStaff(_HasRole):
    roles = Role.STAFF

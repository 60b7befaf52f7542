"""Reads of the code tables: which remote status code and procedure code to send."""

from django.utils.translation import gettext as _

from .defaults import DEFAULT_STATUS_CODES
from .exceptions import MappingMissing
from .models import ProcedureCodeMapping, StatusMapping


def status_code_for(*, system: str, state: str, transition: str = "") -> int:
    """The remote status code (1..10) for our state; a row of the table beats the default."""
    rows = dict(
        StatusMapping.objects.filter(
            system=system, state=state, transition__in={transition, ""}
        ).values_list("transition", "status_code")
    )
    if transition:
        if transition in rows:
            return rows[transition]
        if (state, transition) in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[(state, transition)]
    if "" in rows:
        return rows[""]
    if (state, "") in DEFAULT_STATUS_CODES:
        return DEFAULT_STATUS_CODES[(state, "")]
    raise MappingMissing(
        _("Chưa cấu hình mã trạng thái cho trạng thái %(state)s.") % {"state": state},
        extra={"system": system, "state": state, "transition": transition},
    )


def remote_procedure_code(*, system: str, code: str) -> str:
    """Our procedure code as the remote system knows it (unchanged when unmapped)."""
    mapped = (
        ProcedureCodeMapping.objects.filter(system=system, local_code=code)
        .values_list("remote_code", flat=True).first()
    )
    return mapped or code


def local_procedure_code(*, system: str, remote_code: str) -> str:
    """The remote procedure code as ours (unchanged when unmapped)."""
    mapped = (
        ProcedureCodeMapping.objects.filter(system=system, remote_code=remote_code)
        .values_list("local_code", flat=True).first()
    )
    return mapped or remote_code


class DatabaseCodeBook:
    """The code tables of one system, as the HTTP adapters consult them on every send."""

    def __init__(self, system: str) -> None:
        self.system = system

    def status_code(self, state: str, transition: str = "") -> int:
        return status_code_for(system=self.system, state=state, transition=transition)

    def remote_procedure(self, code: str) -> str:
        return remote_procedure_code(system=self.system, code=code)

    def local_procedure(self, remote_code: str) -> str:
        return local_procedure_code(system=self.system, remote_code=remote_code)

"""The National Public Service Portal (Cổng Dịch vụ công quốc gia)."""

from ..base import NATIONAL
from .portal_http import HttpPortalAdapter


class NationalPortalAdapter(HttpPortalAdapter):
    """Speaks the national portal's protocol (DESIGN §7)."""

    identifier = NATIONAL
    system = NATIONAL

"""The provincial portal (Hệ thống thông tin giải quyết TTHC cấp tỉnh)."""

from ..base import PROVINCIAL
from .portal_http import HttpPortalAdapter


class ProvincialPortalAdapter(HttpPortalAdapter):
    """The same operations and shapes as the national portal, with its own settings and tables."""

    identifier = PROVINCIAL
    system = PROVINCIAL

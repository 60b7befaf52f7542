"""A loopback simulator of the national portal, the provincial portal and the payment platform."""

from .faults import DRIP, DROP, ERROR, GARBLED, TIMEOUT
from .portal import sample_inbound_dossier
from .server import Received, Simulator

__all__ = [
    "DRIP", "DROP", "ERROR", "GARBLED", "TIMEOUT", "Received", "Simulator",
    "sample_inbound_dossier",
]

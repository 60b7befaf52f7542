"""A loopback simulator of the national portal, the provincial portal and the payment platform."""

from .faults import DROP, ERROR, TIMEOUT
from .portal import sample_inbound_dossier
from .server import Received, Simulator

__all__ = ["DROP", "ERROR", "TIMEOUT", "Received", "Simulator", "sample_inbound_dossier"]

"""Turns outbox rows into the portal adapters' dataclasses and sends them."""

from ..models import OutboundMessage


def deliver(message: OutboundMessage) -> str:
    from integrations.registry import get_portal_adapter

    adapter = get_portal_adapter(message.system)
    raise NotImplementedError(adapter)

"""Serve the portal and payment platform simulator on a loopback port."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.simulator import Simulator
from integrations.simulator.idp import OidcClient


class Command(BaseCommand):
    help = ("Run the national portal, provincial portal, payment platform and electronic "
            "identity provider simulator.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--token-ttl", type=float, default=300.0,
                            help="Seconds a session token stays valid.")
        parser.add_argument("--callback-url", default="",
                            help="Where payment callbacks go when a bill names none.")
        parser.add_argument("--duration", type=float, default=0.0,
                            help="Stop after this many seconds (0: until interrupted).")

    def handle(self, *args, port: int, token_ttl: float, callback_url: str, duration: float,
               **options) -> None:
        national = (settings.NATIONAL_PORTAL_USERNAME or "motcua",
                    settings.NATIONAL_PORTAL_PASSWORD or "motcua")
        provincial = (settings.PROVINCIAL_PORTAL_USERNAME or "motcua",
                      settings.PROVINCIAL_PORTAL_PASSWORD or "motcua")
        merchants = {settings.PAYMENT_MERCHANT_ID or "MOTCUA":
                     settings.PAYMENT_SECRET or "motcua-payment-secret"}
        client_id = settings.OIDC_RP_CLIENT_ID or "motcua"
        client_secret = settings.OIDC_RP_CLIENT_SECRET or "motcua-oidc-secret"
        simulator = Simulator(
            port=port, national_credentials=national, provincial_credentials=provincial,
            merchants=merchants, callback_url=callback_url or settings.PAYMENT_NOTIFY_URL,
            inbound_secret=settings.INBOUND_HMAC_SECRET, token_ttl=token_ttl,
            oidc_clients={client_id: OidcClient(client_id, client_secret)},
        )
        simulator.start()
        self.stdout.write(f"Simulator on {simulator.url}")
        for system in ("national", "provincial", "payment", "idp"):
            self.stdout.write(f"  {system}: {simulator.url_for(system)}")
        self.stdout.write(f"  control: {simulator.url}/_control (GET /_control/state)")
        deadline = time.monotonic() + duration if duration > 0 else None
        try:
            while deadline is None or time.monotonic() < deadline:
                left = 0.2 if deadline is None else deadline - time.monotonic()
                time.sleep(min(0.2, max(0.0, left)))
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()
            self.stdout.write("Simulator stopped.")

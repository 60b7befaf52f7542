"""Who the client is behind our proxies, and request rates counted in the shared cache."""

import contextlib
import ipaddress

from django.core.cache import caches

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

# An IPv6 client is usually handed a whole /64: counting single addresses would let it rotate.
IPV6_CLIENT_PREFIX = 64


def _address(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind NUM_PROXIES proxies of ours the entry the
    outermost of them appended to X-Forwarded-For; what the client wrote there is ignored."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded is not None:
        hops = forwarded.split(",")
        # With fewer hops than proxies, the first entry is the one the nearest proxy wrote.
        # An entry we cannot read is counted against the proxy that passed it on.
        return _address(hops[-min(proxies, len(hops))]) or _address(remote) or remote
    return _address(remote) or remote


def client_network(address: str) -> str:
    """What a rate is counted per: the address, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return address


class ClientRateThrottle(SimpleRateThrottle):
    """A rate per client (see `client_address`) kept in the shared cache, so every process and
    node counts together; a sliding window weighs the previous window by what is left of it.
    The counters are atomic where the cache is (Redis, local memory)."""

    cache_alias = "default"
    _wait: float | None = None

    def get_ident(self, request) -> str:
        return client_network(client_address(request))

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        cache = caches[self.cache_alias]
        key = self.get_cache_key(request, view)
        window, elapsed = divmod(self.timer(), self.duration)
        current_key = f"{key}:{int(window)}"
        previous = cache.get(f"{key}:{int(window) - 1}", 0)
        current = _increment(cache, current_key, timeout=2 * self.duration)
        if previous * (self.duration - elapsed) / self.duration + current <= self.num_requests:
            return True
        # A refused request takes nothing from the budget (unless its counter expired meanwhile).
        with contextlib.suppress(ValueError):
            cache.decr(current_key)
        self._wait = self._seconds_until_allowed(previous, current - 1, elapsed)
        return False

    def _seconds_until_allowed(self, previous: int, current: int, elapsed: float) -> float:
        """When one more request fits: later in this window, or in the next one."""
        duration, room = self.duration, self.num_requests - current - 1
        if room >= 0 and previous:
            at = duration * (1 - room / previous)
            if at < duration:
                return max(at - elapsed, 1.0)
        if self.num_requests < 1:
            return duration - elapsed + duration
        at_next = duration * (1 - (self.num_requests - 1) / current) if current else 0.0
        return max(duration - elapsed + max(at_next, 0.0), 1.0)

    def wait(self) -> float | None:
        return self._wait


def _increment(cache, key: str, *, timeout: int) -> int:
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout)
        return 1

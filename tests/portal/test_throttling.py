"""Client addresses behind our proxies, and request rates counted in the shared cache."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import caches
from django.test import RequestFactory
from django.urls import reverse

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from portal.api.throttling import ClientRateThrottle, client_address

PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def fresh_cache(settings, tmp_path):
    """A cache that lives outside this process's memory, as Redis does."""
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache"),
    }}
    yield
    caches["default"].clear()


@pytest.fixture
def proxies(settings):
    def trust(count: int) -> None:
        settings.NUM_PROXIES = count
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return trust


def _request(remote: str = "198.51.100.20", forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


# --- the client address -------------------------------------------------------------------


@pytest.mark.parametrize(("count", "remote", "forwarded", "expected"), [
    (0, "198.51.100.20", None, "198.51.100.20"),
    (0, "198.51.100.20", "203.0.113.7", "198.51.100.20"),  # anyone can write the header
    (1, PROXY, "203.0.113.7", "203.0.113.7"),
    (1, PROXY, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client's own entry is ignored
    (2, PROXY, "1.2.3.4, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
    (2, PROXY, "203.0.113.7", "203.0.113.7"),  # fewer hops: the nearest proxy's entry
    (1, "198.51.100.20", None, "198.51.100.20"),  # reached us without the proxy
    (1, PROXY, "2001:DB8:0:0::1", "2001:db8::1"),
    (1, PROXY, "::ffff:203.0.113.7", "203.0.113.7"),
    (1, PROXY, "1.2.3.4, not an address", PROXY),  # an unreadable hop counts as the proxy
    (1, PROXY, "1.2.3.4, 203.0.113.7:443", PROXY),
    (1, PROXY, "", PROXY),
])
def test_the_client_address_is_taken_through_the_trusted_proxies_only(
    proxies, count, remote, forwarded, expected
):
    proxies(count)

    assert client_address(_request(remote, forwarded)) == expected


# --- the public endpoints -----------------------------------------------------------------


def _lookup(client, **extra):
    return client.get(reverse("api:dossiers:lookup"),
                      {"code": "SCT-250303-0001", "secret": "sai"}, **extra)


def _verify(client, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.txt", b"not a pdf", content_type="text/plain")
    return client.post(reverse("api:signatures:verify"), {"file": upload}, **extra)


@pytest.fixture
def verify_rate(settings):
    settings.SIGNATURES_VERIFY_RATE = "3/min"


@pytest.mark.django_db
@pytest.mark.parametrize(("call", "rate"), [(_lookup, 30), (_verify, 3)],
                         ids=["lookup", "verify"])
def test_a_forged_forwarded_for_header_buys_no_new_requests(
    api_client_for, verify_rate, call, rate
):
    client = api_client_for()

    statuses = [call(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
                for i in range(rate)]
    response = call(client, HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert 429 not in statuses
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.parametrize(("call", "rate"), [(_lookup, 30), (_verify, 3)],
                         ids=["lookup", "verify"])
def test_behind_one_proxy_each_client_has_its_own_budget(
    api_client_for, proxies, verify_rate, call, rate
):
    proxies(1)
    client = api_client_for()

    def behind_proxy(address: str, forged: int):
        return call(client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"9.9.9.{forged}, {address}")

    spent = [behind_proxy("203.0.113.7", i).status_code for i in range(rate)]
    refused = behind_proxy("203.0.113.7", rate)
    neighbour = behind_proxy("203.0.113.8", 0)

    assert 429 not in spent
    assert refused.status_code == 429
    assert neighbour.status_code != 429


# --- the counters ---------------------------------------------------------------------------


class ProbeThrottle(ClientRateThrottle):
    scope = "probe"
    rate = "3/min"


class ProbeApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ProbeThrottle]

    def get(self, request):
        return Response({})


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0 - 1_800_000_000.0 % 60]  # the start of a minute

    monkeypatch.setattr(ProbeThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def _probe(remote: str = "198.51.100.20", **extra):
    return ProbeApi.as_view()(APIRequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_the_counters_live_in_the_shared_cache_not_in_this_process(clock):
    spent = [_probe().status_code for _ in range(3)]
    # Another worker: a new thread opens its own client of the same cache.
    seen_elsewhere = []
    worker = threading.Thread(target=lambda: seen_elsewhere.append(_probe().status_code))
    worker.start()
    worker.join()
    caches.create_connection("default").clear()

    assert spent == [200, 200, 200]
    assert seen_elsewhere == [429]
    assert _probe().status_code == 200  # the counters were the cache's: cleared there, gone


def test_concurrent_requests_never_exceed_the_rate(settings, clock):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "throttle-race"}}
    ProbeThrottle.rate = "10/min"
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda _: _probe().status_code, range(64)))
    finally:
        ProbeThrottle.rate = "3/min"

    assert statuses.count(200) == 10


def test_addresses_of_one_ipv6_network_share_a_budget(clock):
    spent = [_probe(f"2001:db8:1:2::{i:x}").status_code for i in range(3)]
    rotated = _probe("2001:db8:1:2:ffff:ffff:ffff:ffff")
    other_network = _probe("2001:db8:1:3::1")

    assert spent == [200, 200, 200]
    assert rotated.status_code == 429
    assert other_network.status_code == 200


def test_the_previous_minute_still_counts_across_the_boundary(clock):
    clock[0] += 59
    spent = [_probe().status_code for _ in range(3)]
    clock[0] += 2  # one second into the next minute

    assert spent == [200, 200, 200]
    assert _probe().status_code == 429


def test_retry_after_is_when_the_next_request_goes_through(clock):
    clock[0] += 20
    for _ in range(3):
        _probe()

    refused = _probe()
    clock[0] += int(refused["Retry-After"]) - 1
    still_early = _probe()
    clock[0] += 1
    allowed = _probe()

    assert refused.status_code == 429
    assert still_early.status_code == 429
    assert allowed.status_code == 200


def test_refused_requests_take_nothing_from_the_next_budget(clock):
    for _ in range(3):
        _probe()
    hammering = {_probe().status_code for _ in range(50)}
    clock[0] += 120  # two windows later

    assert hammering == {429}
    assert [_probe().status_code for _ in range(3)] == [200, 200, 200]

"""Each exchange ends by a total deadline: an answer dripped under the read timeout is cut."""

import time

import pytest

from integrations.deadlines import deadline
from integrations.exceptions import PortalUnavailable
from integrations.simulator import DRIP

from .builders import snapshot
from .conftest import READ_TIMEOUT

CONNECT_TIMEOUT = 1.0  # portal_config's
DRIP_SECONDS = 0.05  # well under the read timeout: no single read ever waits that long


@pytest.fixture
def dripping(national, simulator):
    national.login()  # the token first: only the push below is dripped
    simulator.configure_faults("national", drip_seconds=DRIP_SECONDS)
    simulator.fail_next("national", DRIP)
    return national


def timed_push(adapter, key="d") -> tuple[float, PortalUnavailable]:
    started = time.monotonic()
    with pytest.raises(PortalUnavailable) as caught:
        adapter.push_dossier(snapshot(), idempotency_key=key)
    return time.monotonic() - started, caught.value


def test_a_dripped_answer_is_cut_at_connect_plus_read_timeout(dripping, simulator):
    # The answer is a few hundred bytes: dripped whole it would take more than 10 s.
    elapsed, error = timed_push(dripping)

    assert error.extra == {"reason": "deadline"} and error.retryable
    assert CONNECT_TIMEOUT + READ_TIMEOUT - 0.1 <= elapsed < CONNECT_TIMEOUT + READ_TIMEOUT + 0.7
    # The portal processed it before dripping: the retry is answered from its memory.
    assert dripping.push_dossier(snapshot(), idempotency_key="d").replayed
    assert simulator.portals["national"].delivery_count() == 1


def test_a_deadline_block_cuts_every_request_inside_it_sooner(dripping):
    with deadline(0.4):
        elapsed, error = timed_push(dripping)

    assert error.extra == {"reason": "deadline"}
    assert 0.3 <= elapsed < 1.0


def test_nothing_is_sent_once_the_block_has_no_time_left(national, simulator):
    national.login()
    before = len(simulator.received("national"))

    with deadline(0):
        _elapsed, error = timed_push(national)

    assert error.extra == {"reason": "deadline"}
    assert len(simulator.received("national")) == before


def test_answers_within_the_deadline_are_read_whole_and_the_connection_is_kept(national, simulator):
    for n in range(20):
        national.push_dossier(snapshot(f"K-{n}"), idempotency_key=f"k-{n}")

    assert simulator.portals["national"].delivery_count() == 20
    adapter = national.session.get_adapter(national.config.base_url)
    pools = adapter.poolmanager.pools
    [key] = pools.keys()
    pool = pools[key]
    assert pool.num_connections == 1  # one keep-alive connection served all 21 requests

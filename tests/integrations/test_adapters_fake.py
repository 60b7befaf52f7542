"""The fake portal: the default adapter, recording calls for tests of the callers."""

import json

import pytest

from integrations.adapters.fake import FakePortalAdapter
from integrations.base import CatalogEntry, PortalAdapter
from integrations.exceptions import PortalRejected, PortalUnavailable
from integrations.simulator import sample_inbound_dossier

from .builders import progress, snapshot


def test_the_fake_satisfies_the_protocol_and_records_calls():
    fake = FakePortalAdapter("national")
    assert isinstance(fake, PortalAdapter)

    fake.push_dossier(snapshot(), idempotency_key="d")
    fake.push_progress(progress(state="suspended"), idempotency_key="p")

    assert [c.operation for c in fake.calls] == ["push_dossier", "push_progress"]
    assert fake.deliveries("SCT-250303-0001") == ["processing", "suspended"]
    remote = fake.lookup_dossier("SCT-250303-0001")
    assert remote.status_code == 8 and remote.progress_count == 1
    assert fake.lookup_dossier("NOPE") is None


def test_a_repeated_key_replays_the_first_receipt_and_is_delivered_once():
    fake = FakePortalAdapter("provincial")
    first = fake.push_dossier(snapshot(), idempotency_key="d")
    again = fake.push_dossier(snapshot(), idempotency_key="d")

    assert again.replayed and again.reference == first.reference
    assert fake.deliveries("SCT-250303-0001") == ["processing"]
    assert len(fake.calls) == 2


def test_the_fake_fails_on_request_and_refuses_progress_for_unknown_dossiers():
    fake = FakePortalAdapter("national")
    fake.fail_next(PortalUnavailable())

    with pytest.raises(PortalUnavailable):
        fake.push_dossier(snapshot(), idempotency_key="d")
    with pytest.raises(PortalRejected):
        fake.push_progress(progress(), idempotency_key="p")
    fake.push_dossier(snapshot(), idempotency_key="d")
    assert fake.deliveries("SCT-250303-0001") == ["processing"]


def test_the_fake_serves_its_catalog_and_parses_inbound_dossiers():
    entry = CatalogEntry(remote_code="1.1", local_code="1.1", name="Thủ tục")
    fake = FakePortalAdapter("national", catalog=(entry,))

    assert fake.pull_catalog() == (entry,)
    inbound = fake.parse_inbound_dossier(json.dumps(sample_inbound_dossier(code="G1")).encode())
    assert inbound.remote_code == "G1" and inbound.procedure_code == "2.000004"

"""The national portal's published service-quality scores: simulator, HTTP adapter, fake."""

from datetime import date

import pytest

from integrations.adapters.fake import FakePortalAdapter
from integrations.base import PortalAdapter
from integrations.exceptions import PortalRejected
from integrations.scores import GROUPS, sample_scores

MARCH = (date(2025, 3, 1), date(2025, 3, 31))


def test_the_adapter_pulls_the_scores_the_simulator_publishes(national, simulator):
    simulator.portals["national"].publish_scores(
        "sct", *MARCH, {"transparency": 15.5, "progress": 19.25, "online": 12,
                        "payment": 7.75, "satisfaction": 16, "digitization": 20.5})

    card = national.pull_scorecard("sct", *MARCH)

    assert (card.system, card.agency_code, card.date_from, card.date_to) == ("national", "sct",
                                                                              *MARCH)
    assert card.groups == {"transparency": 15.5, "progress": 19.25, "online": 12.0,
                           "payment": 7.75, "satisfaction": 16.0, "digitization": 20.5}
    assert card.total == 91.0


def test_unpublished_periods_get_deterministic_sample_scores(national, simulator):
    first = national.pull_scorecard("sct", *MARCH)
    again = national.pull_scorecard("sct", *MARCH)
    other = national.pull_scorecard("sct", date(2025, 4, 1), date(2025, 4, 30))

    assert first == again and first.groups != other.groups
    assert first.groups == sample_scores("sct", *MARCH)
    assert all(0.55 * GROUPS[k][1] <= v <= GROUPS[k][1] for k, v in first.groups.items())


def test_a_reversed_period_is_refused(national, simulator):
    with pytest.raises(PortalRejected):
        national.pull_scorecard("sct", date(2025, 3, 31), date(2025, 3, 1))


def test_the_fake_adapter_publishes_the_same_way():
    fake = FakePortalAdapter("national")
    assert isinstance(fake, PortalAdapter)
    assert fake.pull_scorecard("sct", *MARCH).groups == sample_scores("sct", *MARCH)
    fake.publish_scores("sct", *MARCH, {"progress": 10.0})
    card = fake.pull_scorecard("sct", *MARCH)
    assert (card.groups, card.total) == ({"progress": 10.0}, 10.0)
    assert fake.calls_of("pull_scorecard")[-1].argument == ("sct", *MARCH)

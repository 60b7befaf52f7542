"""The national portal's published scores for the scorecard's comparison (DESIGN §5)."""

import logging
from datetime import date

from integrations.base import NATIONAL
from integrations.exceptions import IntegrationError
from integrations.registry import get_portal_adapter
from integrations.scores import PublishedScorecard

log = logging.getLogger(__name__)


def national_scorecard(
    *, agency_code: str, date_from: date, date_to: date
) -> PublishedScorecard | None:
    """The agency's scores as the national portal published them for the period, or None when
    the portal cannot be read now (the page then shows our figures alone)."""
    try:
        return get_portal_adapter(NATIONAL).pull_scorecard(agency_code, date_from, date_to)
    except IntegrationError as exc:
        log.warning("national scorecard for %s %s..%s unavailable: %s", agency_code, date_from,
                    date_to, exc)
        return None

"""Numbers and dates beyond what the database holds are bad input (400), never a 500."""

from django.urls import reverse

import pytest

pytestmark = pytest.mark.django_db

HUGE = "6456650621657416728576"  # beyond a signed 64-bit integer


def test_a_filter_id_beyond_the_database_range_is_refused(applicant, api_client_for):
    client = api_client_for(applicant)
    response = client.get(reverse("api:dossiers:list"), {"procedure": HUGE})
    assert response.status_code == 400
    assert response.json()["code"]


def test_far_dates_with_odd_offsets_are_answered(applicant, api_client_for):
    client = api_client_for(applicant)
    response = client.get(reverse("api:dossiers:list"), {
        "due_after": "0109-12-06T17:10:25.1-10:54", "due_before": "0069-10-23T22:18:09-06:18",
    })
    assert response.status_code in (200, 400)


def test_an_assignee_beyond_the_database_range_is_refused(reception, api_client_for):
    response = api_client_for(reception).get(reverse("api:dossiers:queue"), {"procedure": HUGE})
    assert response.status_code == 400

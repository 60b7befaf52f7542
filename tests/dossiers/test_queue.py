"""The officers' queue (filters, order, keyset pages, visibility) and work distribution."""

import base64
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest
from rest_framework.exceptions import NotAuthenticated, PermissionDenied

from dossiers.exceptions import DossierNotFound, InvalidFormData, StaleVersion
from dossiers.models import Dossier
from portal.roles import Role

from .factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

QUEUE = "api:dossiers:queue"


def _error(code: str, message, extra: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "extra": extra or {}}


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def _queue(client, **params):
    return client.get(reverse(QUEUE), params)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def other_agency(db):
    return AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")


@pytest.fixture
def foreign_officer(other_agency):
    return UserFactory(roles=[Role.SPECIALIST], kind="staff", agency_code=other_agency.code)


@pytest.fixture
def make(procedure, applicant):
    """A dossier of the officers' agency, in a state given by factory traits."""

    def build(**kwargs):
        kwargs.setdefault("procedure", procedure)
        kwargs.setdefault("applicant", applicant)
        return DossierFactory(**kwargs)

    return build


# --- listing and order ---------------------------------------------------------------


def test_queue_lists_open_dossiers_of_the_agency_soonest_due_first(
    api_client_for, specialist, make, other_agency
):
    now = timezone.now()
    late = make(processing=True, due_at=now + timedelta(days=4))
    soon = make(processing=True, due_at=now + timedelta(hours=3))
    # Not yet accepted: no due time, so it waits in the queue by its submission time.
    waiting = make(submitted=True, submitted_at=now - timedelta(hours=1))
    middle = make(pending_approval=True, due_at=now + timedelta(days=2))
    make()  # a draft is the applicant's own business
    make(result_ready=True, due_at=now - timedelta(days=9))  # completed: off the queue
    DossierFactory(
        processing=True, procedure=ProcedureFactory(agency=other_agency),
        due_at=now - timedelta(days=9),
    )

    response = _queue(api_client_for(specialist))

    assert response.status_code == 200
    assert _ids(response) == [waiting.pk, soon.pk, middle.pk, late.pk]
    assert response.json()["next_cursor"] is None
    first = response.json()["results"][0]
    assert first["code"] == waiting.code
    assert first["state"] == Dossier.State.SUBMITTED
    assert first["procedure"]["id"] == waiting.procedure_id


def test_queue_filters_by_state(api_client_for, specialist, make):
    make(processing=True)
    pending = make(pending_approval=True)
    make(submitted=True)

    response = _queue(api_client_for(specialist), state=Dossier.State.PENDING_APPROVAL)

    assert response.status_code == 200
    assert _ids(response) == [pending.pk]


def test_queue_filters_by_current_step(api_client_for, specialist, make, procedure):
    review = procedure.steps.get(code="review")
    approval = procedure.steps.get(code="approval")
    in_review = make(processing=True, current_step=review)
    make(pending_approval=True, current_step=approval)
    make(submitted=True)

    response = _queue(api_client_for(specialist), step="review")

    assert response.status_code == 200
    assert _ids(response) == [in_review.pk]
    assert response.json()["results"][0]["current_step"] == "review"


def test_queue_filters_by_procedure(api_client_for, specialist, make, agency):
    other_procedure = ProcedureFactory(agency=agency)
    make(processing=True)
    wanted = make(processing=True, procedure=other_procedure)

    response = _queue(api_client_for(specialist), procedure=other_procedure.pk)

    assert response.status_code == 200
    assert _ids(response) == [wanted.pk]


@pytest.mark.parametrize("which", ["me", "none", "id"])
def test_queue_filters_by_assignee(api_client_for, specialist, leader, make, which):
    now = timezone.now()
    mine = make(processing=True, assignee=specialist, due_at=now + timedelta(days=1))
    nobodys = make(processing=True, due_at=now + timedelta(days=2))
    leaders = make(processing=True, assignee=leader, due_at=now + timedelta(days=3))
    param, expected = {
        "me": ("me", [mine.pk]),
        "none": ("none", [nobodys.pk]),
        "id": (str(leader.pk), [leaders.pk]),
    }[which]

    response = _queue(api_client_for(specialist), assignee=param)

    assert response.status_code == 200
    assert _ids(response) == expected


def test_queue_filters_overdue_dossiers_and_a_paused_clock_is_not_overdue(
    api_client_for, specialist, make
):
    now = timezone.now()
    overdue = make(overdue=True)
    make(overdue=True, state=Dossier.State.SUSPENDED, paused_at=now - timedelta(days=3))
    make(processing=True)
    make(submitted=True)

    response = _queue(api_client_for(specialist), due="overdue")

    assert response.status_code == 200
    assert _ids(response) == [overdue.pk]
    assert response.json()["results"][0]["is_overdue"] is True


def test_queue_filters_dossiers_due_soon(api_client_for, specialist, make):
    now = timezone.now()
    soon = make(
        processing=True, due_at=now + timedelta(hours=2), due_soon_at=now - timedelta(hours=2)
    )
    make(processing=True)  # more than a session left
    make(overdue=True)  # already past due: overdue, not "soon"

    response = _queue(api_client_for(specialist), due="soon")

    assert response.status_code == 200
    assert _ids(response) == [soon.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "lost"}, _error(
            "invalid_form_data", InvalidFormData.default_message,
            {"errors": [{"field": "state", "message": "unknown"}]},
        )),
        ({"assignee": "someone"}, _error(
            "invalid_form_data", InvalidFormData.default_message,
            {"errors": [{"field": "assignee", "message": "invalid"}]},
        )),
    ],
)
def test_queue_rejects_an_unknown_filter_value(api_client_for, specialist, params, expected):
    response = _queue(api_client_for(specialist), **params)

    assert response.status_code == 400
    assert response.json() == expected


def test_queue_rejects_an_unknown_due_filter(api_client_for, specialist):
    response = _queue(api_client_for(specialist), due="tomorrow")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["extra"]["fields"]) == ["due"]


# --- keyset pages --------------------------------------------------------------------


def test_cursor_pages_walk_every_dossier_exactly_once_in_due_order(
    api_client_for, specialist, make
):
    base = timezone.now().replace(microsecond=0)
    dossiers = [
        # Three dossiers share each due time, so the cursor must break ties by id.
        make(processing=True, due_at=base + timedelta(hours=i // 3))
        for i in range(48)
    ] + [
        make(submitted=True, submitted_at=base + timedelta(hours=i, minutes=30))
        for i in range(12)
    ]
    expected = [
        d.pk for d in sorted(dossiers, key=lambda d: (d.due_at or d.submitted_at, d.pk))
    ]
    client = api_client_for(specialist)

    seen, cursor, pages = [], None, 0
    while True:
        params = {"page_size": 7, **({"cursor": cursor} if cursor else {})}
        response = _queue(client, **params)
        assert response.status_code == 200
        page = _ids(response)
        assert 0 < len(page) <= 7
        seen += page
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        assert pages < 20, "the cursor does not advance"

    assert len(seen) == len(set(seen)) == 60
    assert seen == expected
    assert pages == 9


def test_cursor_pages_keep_the_filters(api_client_for, specialist, make):
    mine = [make(processing=True, assignee=specialist) for _ in range(5)]
    for _ in range(4):
        make(processing=True)
    client = api_client_for(specialist)

    first = _queue(client, assignee="me", page_size=3)
    second = _queue(client, assignee="me", page_size=3, cursor=first.json()["next_cursor"])

    assert second.status_code == 200
    assert sorted(_ids(first) + _ids(second)) == sorted(d.pk for d in mine)
    assert second.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "abc",
        _cursor("2025-03-03T08:00:00+07:00"),  # no id
        _cursor("2025-03-03T08:00:00+07:00|seven"),  # id is not a number
        _cursor("yesterday|7"),
        _cursor("2025-03-03T08:00:00|7"),  # naive time
        _cursor("2025-13-45T08:00:00+07:00|7"),  # no such day
        base64.urlsafe_b64encode(b"\xff\xfe|7").decode(),  # not text
    ],
)
def test_a_bad_cursor_is_a_400(api_client_for, specialist, make, cursor):
    make(processing=True)

    response = _queue(api_client_for(specialist), cursor=cursor)

    assert response.status_code == 400
    assert response.json() == _error(
        "invalid_form_data", "Con trỏ phân trang không hợp lệ.",
        {"errors": [{"field": "cursor"}]},
    )


def test_queue_query_count_does_not_grow_with_the_page_size(
    api_client_for, specialist, make, procedure, leader
):
    review = procedure.steps.get(code="review")
    for i in range(60):
        make(processing=True, current_step=review, assignee=specialist if i % 2 else leader)
    client = api_client_for(specialist)
    _queue(client, page_size=1)  # warm the caches that are not per page (roles)

    with CaptureQueriesContext(connection) as small:
        small_page = _queue(client, page_size=5)
    with CaptureQueriesContext(connection) as large:
        large_page = _queue(client, page_size=50)

    assert len(_ids(small_page)) == 5
    assert len(_ids(large_page)) == 50
    assert len(small.captured_queries) == len(large.captured_queries)


# --- who may see the queue -----------------------------------------------------------


def test_applicant_gets_403_on_the_queue(api_client_for, applicant, make):
    make(processing=True)

    response = _queue(api_client_for(applicant))

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", PermissionDenied.default_detail)


def test_manager_gets_403_on_the_queue(api_client_for, manager):
    response = _queue(api_client_for(manager))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_user_is_refused_the_queue(api_client_for):
    # Session authentication comes first and sends no challenge, so DRF answers 403.
    response = _queue(api_client_for())

    assert response.status_code == 403
    assert response.json() == _error("not_authenticated", NotAuthenticated.default_detail)


def test_officer_of_another_agency_does_not_see_the_dossiers(
    api_client_for, foreign_officer, make
):
    make(processing=True)
    make(overdue=True)

    response = _queue(api_client_for(foreign_officer))

    assert response.status_code == 200
    assert response.json() == {"results": [], "next_cursor": None}


# --- claim ---------------------------------------------------------------------------


def _claim(client, dossier, **data):
    return client.post(reverse("api:dossiers:claim", args=[dossier.pk]), data, format="json")


def _assign(client, dossier, **data):
    return client.post(reverse("api:dossiers:assign", args=[dossier.pk]), data, format="json")


def test_officer_claims_an_unassigned_dossier(api_client_for, specialist, make):
    dossier = make(processing=True)

    response = _claim(api_client_for(specialist), dossier, version=dossier.version)

    assert response.status_code == 200
    assert response.json()["assignee"] == specialist.pk
    assert response.json()["version"] == dossier.version + 1
    dossier.refresh_from_db()
    assert dossier.assignee == specialist
    assert _ids(_queue(api_client_for(specialist), assignee="me")) == [dossier.pk]


def test_claiming_a_dossier_assigned_to_someone_else_is_a_409(
    api_client_for, specialist, leader, make
):
    dossier = make(processing=True, assignee=leader)

    response = _claim(api_client_for(specialist), dossier)

    assert response.status_code == 409
    assert response.json() == _error(
        "invalid_transition", "Hồ sơ đã được giao cho người khác.",
        {"assignee": leader.pk},
    )
    dossier.refresh_from_db()
    assert dossier.assignee == leader
    assert dossier.version == 1


def test_claim_with_a_stale_version_is_a_409(api_client_for, specialist, make):
    dossier = make(processing=True, version=3)

    response = _claim(api_client_for(specialist), dossier, version=2)

    assert response.status_code == 409
    assert response.json() == _error(
        "stale_version", StaleVersion.default_message, {"current_version": 3}
    )
    dossier.refresh_from_db()
    assert dossier.assignee is None


def test_claiming_a_completed_dossier_is_a_409(api_client_for, specialist, make):
    dossier = make(result_ready=True)

    response = _claim(api_client_for(specialist), dossier)

    assert response.status_code == 409
    assert response.json() == _error(
        "invalid_transition", "Hồ sơ không còn trong quá trình xử lý."
    )


def test_officer_of_another_agency_cannot_claim(api_client_for, foreign_officer, make):
    dossier = make(processing=True)

    response = _claim(api_client_for(foreign_officer), dossier)

    assert response.status_code == 404
    assert response.json() == _error("dossier_not_found", DossierNotFound.default_message)
    dossier.refresh_from_db()
    assert dossier.assignee is None


def test_applicant_cannot_claim(api_client_for, applicant, make):
    dossier = make(processing=True)

    response = _claim(api_client_for(applicant), dossier)

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", PermissionDenied.default_detail)


# --- assign --------------------------------------------------------------------------


def test_leader_assigns_a_dossier_to_an_officer_of_the_same_agency(
    api_client_for, leader, specialist, make
):
    dossier = make(processing=True)

    response = _assign(api_client_for(leader), dossier, assignee_id=specialist.pk, version=1)

    assert response.status_code == 200
    assert response.json()["assignee"] == specialist.pk
    assert response.json()["version"] == 2
    dossier.refresh_from_db()
    assert dossier.assignee == specialist


def test_leader_may_reassign_a_dossier_someone_already_holds(
    api_client_for, leader, specialist, reception, make
):
    dossier = make(processing=True, assignee=reception)

    response = _assign(api_client_for(leader), dossier, assignee_id=specialist.pk)

    assert response.status_code == 200
    dossier.refresh_from_db()
    assert dossier.assignee == specialist


def test_leader_cannot_assign_to_an_officer_of_another_agency(
    api_client_for, leader, foreign_officer, make
):
    dossier = make(processing=True)

    response = _assign(api_client_for(leader), dossier, assignee_id=foreign_officer.pk)

    assert response.status_code == 409
    assert response.json() == _error(
        "invalid_transition", "Người được giao không phải cán bộ của cơ quan.",
        {"assignee": foreign_officer.pk},
    )
    dossier.refresh_from_db()
    assert dossier.assignee is None


@pytest.mark.parametrize("who", ["applicant", "manager", "inactive_officer", "nobody"])
def test_leader_can_only_assign_to_an_active_officer(
    api_client_for, leader, applicant, manager, agency, make, who
):
    assignee_id = {
        "applicant": lambda: applicant.pk,
        "manager": lambda: manager.pk,
        "inactive_officer": lambda: UserFactory(
            roles=[Role.SPECIALIST], agency_code=agency.code, is_active=False
        ).pk,
        "nobody": lambda: 999_999,
    }[who]()
    dossier = make(processing=True)

    response = _assign(api_client_for(leader), dossier, assignee_id=assignee_id)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["extra"] == {"assignee": assignee_id}


def test_specialist_cannot_assign_and_gets_403(api_client_for, specialist, reception, make):
    # The specialist sees the dossier in the queue; handing it out is the leader's role.
    dossier = make(processing=True)

    response = _assign(api_client_for(specialist), dossier, assignee_id=reception.pk)

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", "Chỉ lãnh đạo được giao hồ sơ.")
    dossier.refresh_from_db()
    assert dossier.assignee is None


def test_leader_of_another_agency_cannot_assign(
    api_client_for, other_agency, specialist, make
):
    foreign_leader = UserFactory(roles=[Role.LEADER], agency_code=other_agency.code)
    dossier = make(processing=True)

    response = _assign(api_client_for(foreign_leader), dossier, assignee_id=specialist.pk)

    assert response.status_code == 404
    assert response.json() == _error("dossier_not_found", DossierNotFound.default_message)


def test_assign_with_a_stale_version_is_a_409(api_client_for, leader, specialist, make):
    dossier = make(processing=True, version=5)

    response = _assign(api_client_for(leader), dossier, assignee_id=specialist.pk, version=4)

    assert response.status_code == 409
    assert response.json() == _error(
        "stale_version", StaleVersion.default_message, {"current_version": 5}
    )
    dossier.refresh_from_db()
    assert dossier.assignee is None


def test_assign_without_an_assignee_is_a_400(api_client_for, leader, make):
    dossier = make(processing=True)

    response = _assign(api_client_for(leader), dossier)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["extra"]["fields"]) == ["assignee_id"]


def test_applicant_cannot_assign(api_client_for, applicant, specialist, make):
    dossier = make(processing=True)

    response = _assign(api_client_for(applicant), dossier, assignee_id=specialist.pk)

    assert response.status_code == 403
    assert response.json() == _error("permission_denied", PermissionDenied.default_detail)


# --- results to hand out, counts per state, search by code ---------------------------


def test_reception_queue_lists_results_waiting_to_be_handed_out(
    api_client_for, reception, specialist, make
):
    now = timezone.now()
    ready = make(result_ready=True, due_at=now - timedelta(days=1))
    waiting = make(submitted=True, submitted_at=now - timedelta(hours=2))
    returned = make(result_ready=True, state=Dossier.State.RETURNED, returned_at=now)

    seen = _ids(_queue(api_client_for(reception)))
    only_ready = _ids(_queue(api_client_for(reception), state=Dossier.State.RESULT_READY))

    assert seen == [ready.pk, waiting.pk]
    assert returned.pk not in seen
    assert only_ready == [ready.pk]
    # The specialist has nothing left to do with a result that is ready: off their queue.
    assert _ids(_queue(api_client_for(specialist))) == [waiting.pk]


def test_queue_counts_each_state_under_the_other_filters(reception, specialist, make):
    from dossiers.selectors.queues import dossier_queue_counts

    make(submitted=True)
    make(submitted=True)
    make(processing=True, assignee=reception)
    make(result_ready=True)
    make(overdue=True)
    make()  # a draft is not counted

    counts = dossier_queue_counts(user=reception)
    mine = dossier_queue_counts(user=reception, assignee="me")

    assert counts[Dossier.State.SUBMITTED] == 2
    assert counts[Dossier.State.PROCESSING] == 2
    assert counts[Dossier.State.RESULT_READY] == 1
    assert counts[Dossier.State.PENDING_APPROVAL] == 0
    assert Dossier.State.DRAFT not in counts
    assert sum(counts.values()) == 5
    assert sum(mine.values()) == 1 and mine[Dossier.State.PROCESSING] == 1
    # Results to hand out are reception's work only.
    assert Dossier.State.RESULT_READY not in dossier_queue_counts(user=specialist)


def test_queue_searches_by_part_of_the_code(api_client_for, specialist, make):
    wanted = make(processing=True, code="SCT-250303-0042")
    make(processing=True, code="SCT-250303-0043")

    response = _queue(api_client_for(specialist), code="0042")

    assert response.status_code == 200
    assert _ids(response) == [wanted.pk]


def test_queue_rows_say_whether_they_are_overdue_or_due_soon(specialist, make):
    from dossiers.selectors.queues import dossier_queue

    now = timezone.now()
    late = make(overdue=True)
    soon = make(processing=True, due_at=now + timedelta(hours=2),
                due_soon_at=now - timedelta(hours=1))
    paused = make(overdue=True, state=Dossier.State.SUSPENDED, paused_at=now)
    calm = make(processing=True)

    flags = {d.pk: (d.overdue_now, d.due_soon_now)
             for d in dossier_queue(user=specialist, now=now).items}

    assert flags[late.pk] == (True, False)
    assert flags[soon.pk] == (False, True)
    assert flags[paused.pk] == (False, False)
    assert flags[calm.pk] == (False, False)


def test_a_dossier_is_offered_to_the_active_officers_of_its_current_steps_role(
    specialist, leader, reception, agency, foreign_officer, make, procedure
):
    from dossiers.selectors.queues import dossier_assignable_officers

    UserFactory(roles=[Role.SPECIALIST], agency_code=agency.code, is_active=False)
    colleague = UserFactory(roles=[Role.SPECIALIST], agency_code=agency.code)
    in_review = make(processing=True, current_step=procedure.steps.get(code="review"))
    unstepped = make(submitted=True)

    assert set(dossier_assignable_officers(dossier=in_review)) == {specialist, colleague}
    assert set(dossier_assignable_officers(dossier=unstepped)) == {
        specialist, colleague, leader, reception
    }

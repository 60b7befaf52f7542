"""The Decision 766 scorecard: its six groups, the lists behind every count, past periods rebuilt
from history, the agency's outcome rule, and who may read it."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.urls import reverse

import pytest

from dossiers import sla
from dossiers.models import Agency, Document, Dossier, OutboundMessage, Procedure, Rating
from dossiers.selectors.scorecard import GROUP_MAX, SETS, scorecard, scorecard_scope
from dossiers.services import (
    document_upload,
    dossier_accept,
    dossier_claim,
    dossier_resume,
    dossier_suspend,
    payment_confirm,
    payment_record_at_counter,
    payment_start,
)
from dossiers.sla import VN_TZ
from portal.roles import Role

from .factories import AgencyFactory, ProcedureFactory, UserFactory
from .test_indicators import Flow, _pdf

SCORECARD = "api:dossiers:scorecard"
MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
MONDAY = datetime(2025, 3, 3, 8, 0, tzinfo=VN_TZ)  # a 5-day procedure: due 10/03 08:00
APRIL_1 = datetime(2025, 4, 1, 9, 0, tzinfo=VN_TZ)


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def procedure(agency):
    return ProcedureFactory(agency=agency)


@pytest.fixture
def flow(frozen, applicant, reception, specialist, leader, procedure):
    return Flow(frozen, applicant, reception, specialist, leader, procedure)


def _rated(dossier, score: int, at: datetime) -> None:
    Rating.objects.create(dossier=dossier, score=score)
    Rating.objects.filter(dossier=dossier).update(created_at=at)


def _deliver(dossier, *, after: timedelta) -> None:
    """Every message of the dossier for the national portal reached it `after` its change."""
    for message in OutboundMessage.objects.filter(dossier=dossier, system="national"):
        message.status = OutboundMessage.Status.SENT
        message.sent_at = message.created_at + after
        message.save(update_fields=["status", "sent_at"])


@pytest.fixture
def data(flow, frozen, agency, applicant, reception, specialist):
    """Dossiers of March 2025 (and some carried over from February), ending every way."""
    d = {}
    d["done_in_february"] = flow.issue(flow.accept(vn(2025, 2, 17, 8, 0)), vn(2025, 2, 19, 9, 0))
    # Accepted 26/02, due 05/03: carried over and completed early in March.
    d["carried_early"] = flow.issue(flow.accept(vn(2025, 2, 26, 8, 0)), vn(2025, 3, 4, 9, 0))
    for name in ("early", "on_time", "late", "withdrawn", "overdue", "paused",
                 "done_in_april"):
        d[name] = flow.accept(MONDAY)
    d["early"] = flow.issue(d["early"], vn(2025, 3, 5, 10, 0))
    # On the due date, after the due hour: on time by the date rule, late by the session rule.
    d["on_time"] = flow.issue(d["on_time"], vn(2025, 3, 10, 15, 0), electronic=False)
    d["late"] = flow.issue(d["late"], vn(2025, 3, 11, 9, 0))
    d["withdrawn"] = flow.withdraw(d["withdrawn"], vn(2025, 3, 4, 9, 0))
    with frozen(vn(2025, 3, 5, 9, 0)):
        dossier_suspend(dossier_id=d["paused"].pk, actor=specialist, reason="Chờ phối hợp.")
        dossier_claim(dossier_id=d["overdue"].pk, actor=specialist)
    d["within"] = flow.accept(vn(2025, 3, 28, 8, 0))  # due 04/04
    # A partial-online procedure with a fee paid online, and one paid at the desk.
    paid = ProcedureFactory(agency=agency, fee_at_submission=True,
                            online_level=Procedure.OnlineLevel.PARTIAL)
    ProcedureFactory(agency=agency, fee_before_result=True)  # a fee, never paid online
    online = flow.submitted(procedure=paid)
    desk = flow.submitted(procedure=paid, channel=Dossier.Channel.COUNTER)
    post = flow.submitted(procedure=flow.procedure, channel=Dossier.Channel.POST)
    with frozen(vn(2025, 3, 12, 8, 0)):
        payment = payment_start(dossier_id=online.pk, actor=applicant)
        payment_confirm(provider=payment.provider, provider_reference=payment.provider_reference,
                        amount=payment.amount, confirmed_by="provider:fake")
        payment_record_at_counter(dossier_id=desk.pk, actor=reception, channel="cash")
        document_upload(dossier_id=desk.pk, actor=reception, component_code="don_de_nghi",
                        uploaded_file=_pdf(), digitized=True)
        for dossier in (online, desk, post):
            dossier_accept(dossier_id=dossier.pk, actor=reception)
    Document.objects.filter(dossier=desk).update(
        reuse_source=Document.ReuseSource.NATIONAL_DATABASE)
    d.update(paid_online=online, desk=desk, post=post)
    _rated(d["early"], 5, vn(2025, 3, 6, 9, 0))
    _rated(d["carried_early"], 1, vn(2025, 3, 7, 9, 0))
    _deliver(d["early"], after=timedelta(minutes=5))
    _deliver(d["on_time"], after=timedelta(days=2))
    return {k: Dossier.objects.get(pk=v.pk) for k, v in d.items()}


def _march(user, **more) -> dict:
    return scorecard(scope=scorecard_scope(user=user, date_from=date(2025, 3, 1),
                                           date_to=date(2025, 3, 31), **more))


def _groups(card: dict) -> dict:
    return {g["key"]: g for g in card["groups"]}


def _pks(*dossiers) -> set[int]:
    return {d.pk for d in dossiers}


def test_the_scorecard_has_the_six_groups_with_their_maxima_and_total(data, frozen, manager):
    with frozen(APRIL_1):
        card = _march(manager)

    assert [(g["key"], g["max"]) for g in card["groups"]] == [
        ("transparency", 18), ("progress", 20), ("online", 12), ("payment", 10),
        ("satisfaction", 18), ("digitization", 22),
    ]
    assert card["max"] == 100 and sum(GROUP_MAX.values()) == 100
    assert card["total"] == pytest.approx(sum(g["score"] for g in card["groups"]))
    assert all(0 <= g["score"] <= g["computed_max"] <= g["max"] for g in card["groups"])


def test_progress_counts_carried_over_and_received_by_where_they_stood_at_the_end(
    data, frozen, manager
):
    with frozen(APRIL_1):
        progress = _groups(_march(manager))["progress"]

    c = progress["counts"]
    assert (c["early"], c["on_time"], c["late"]) == (2, 1, 1)  # carried_early, early
    # Open at the end: overdue and done_in_april (due 10/03), paused (paused before its due),
    # within (due 04/04), and the three received on 12/03 (due 19/03: overdue by 31/03).
    assert (c["in_progress_within_time"], c["in_progress_overdue"], c["in_progress_paused"]) == (
        2, 5, 1)
    assert c["all"] == c["early"] + c["on_time"] + c["late"] + c["in_progress_within_time"] \
        + c["in_progress_overdue"] == 11
    assert progress["score"] == pytest.approx(round(20 * (2 + 1 + 2) / 11, 2))


def test_each_count_lists_exactly_the_dossiers_it_counts(data, frozen, manager, api_client_for):
    client = api_client_for(manager)
    with frozen(APRIL_1):
        body = client.get(reverse(SCORECARD), MARCH).json()
        assert {g["key"] for g in body["groups"]} == set(GROUP_MAX)
        checked = 0
        for group in body["groups"]:
            assert set(group["links"]) == set(group["counts"]) - {"A", "B", "C"}
            for name, url in group["links"].items():
                page = client.get(f"{url}&page_size=200").json()
                assert page["count"] == group["counts"][name], (group["key"], name)
                assert len(page["results"]) == page["count"]
                checked += 1
    assert checked == len(SETS)


def test_the_lists_hold_the_expected_dossiers(data, frozen, manager, api_client_for):
    client = api_client_for(manager)
    with frozen(APRIL_1):
        links = {g["key"]: g["links"] for g in client.get(reverse(SCORECARD), MARCH).json()[
            "groups"]}

        def ids(group, name):
            url = f"{links[group][name]}&page_size=200"
            return {r["id"] for r in client.get(url).json()["results"]}

        assert ids("progress", "early") == _pks(data["carried_early"], data["early"])
        assert ids("progress", "in_progress_within_time") == _pks(data["paused"], data["within"])
        assert ids("progress", "in_progress_paused") == _pks(data["paused"])
        assert data["withdrawn"].pk not in ids("progress", "all")
        assert data["done_in_february"].pk not in ids("progress", "all")
        assert ids("transparency", "synced_on_time") == _pks(data["early"])
        assert ids("transparency", "synced_late") == _pks(data["on_time"])
        assert ids("digitization", "digitized") == _pks(data["desk"])
        assert ids("digitization", "paper_dossiers") == _pks(data["desk"], data["post"])
        assert ids("payment", "paid_online") == _pks(data["paid_online"])
        state = {r["id"]: r["state_at_end"] for r in client.get(
            links["progress"]["in_progress_paused"]).json()["results"]}
        assert state == {data["paused"].pk: Dossier.State.SUSPENDED}


def test_the_other_groups_follow_design_formulas(data, frozen, manager):
    with frozen(APRIL_1):
        g = _groups(_march(manager))

    t = g["transparency"]["counts"]
    assert t["synced_on_time"] == 1 and t["synced_late"] == 1
    assert t["applicable"] == t["synced_on_time"] + t["synced_late"] + t["not_synced"]
    assert g["transparency"]["score"] == pytest.approx(round(6 * 1 / t["applicable"], 2))
    # Dossiers the portal never had, and one it had with the state of the end.
    assert t["status_differs"] == t["not_synced"]

    o = g["online"]["counts"]
    # Received in March of full-online procedures: 7 on 03/03, 1 on 28/03, the post one.
    assert (o["full_online"], o["full_online_procedure_dossiers"]) == (8, 9)
    assert g["online"]["score"] == pytest.approx(round(12 * 8 / 9, 2))

    p = g["payment"]["counts"]
    assert (p["paid_online"], p["fee_dossiers"]) == (1, 2)
    assert (p["procedures_paid_online"], p["procedures_payable_online"], p["fee_procedures"]) == (
        1, 2, 2)
    assert (p["A"], p["B"], p["C"]) == (0.5, 0.5, 1.0)
    assert g["payment"]["score"] == pytest.approx(6 * 0.5 + min(2, 2.5 * 0.5) + 2.5 * 1.0)

    s = g["satisfaction"]["counts"]
    # Four completed in March: one rated 1 (carried_early), one late (late).
    assert (s["handled"], s["unsatisfied"], s["overdue"]) == (4, 1, 1)
    assert g["satisfaction"]["score"] == pytest.approx(round(min(6, 6 * (2 / 4) / 0.9), 2))

    dg = g["digitization"]["counts"]
    assert (dg["results_signed"], dg["results"]) == (3, 4)  # on_time was issued on paper
    assert (dg["digitized"], dg["paper_dossiers"]) == (1, 2)
    assert (dg["reusing"], dg["received"]) == (1, 11)
    expected = 6 * 3 / 4 + 4 * 1 / 2 + 2 * min(1, (1 / 11) / 0.8)
    assert g["digitization"]["score"] == pytest.approx(round(expected, 2), abs=0.01)


def test_last_month_is_rebuilt_the_same_after_its_dossiers_move_on(
    data, frozen, manager, specialist, flow
):
    overdue_then_paused = flow.accept(vn(2025, 3, 21, 8, 0))  # due 28/03: overdue on 31/03
    with frozen(APRIL_1):
        before = _march(manager)

    with frozen(vn(2025, 4, 3, 9, 0)):
        dossier_resume(dossier_id=data["paused"].pk, actor=specialist)
        dossier_suspend(dossier_id=overdue_then_paused.pk, actor=specialist, reason="Chờ.")
    with frozen(vn(2025, 4, 21, 9, 0)):
        dossier_resume(dossier_id=overdue_then_paused.pk, actor=specialist)
    # Its due time moved past March: only its history says it was overdue then.
    assert Dossier.objects.get(pk=overdue_then_paused.pk).due_at > vn(2025, 4, 1)
    flow.issue(Dossier.objects.get(pk=data["done_in_april"].pk), vn(2025, 4, 4, 9, 0))
    flow.issue(Dossier.objects.get(pk=data["within"].pk), vn(2025, 4, 2, 9, 0))
    flow.withdraw(Dossier.objects.get(pk=data["overdue"].pk), vn(2025, 4, 7, 9, 0))
    _rated(data["late"], 1, vn(2025, 4, 8, 9, 0))
    flow.accept(vn(2025, 4, 9, 8, 0))
    paused = Dossier.objects.get(pk=data["paused"].pk)
    assert paused.state == Dossier.State.PROCESSING and paused.due_at > vn(2025, 4, 3)

    with frozen(vn(2025, 5, 2, 9, 0)):
        after = _march(manager)

    assert after == before


def test_a_provincial_manager_reads_every_agency_and_one_on_request(data, frozen, manager):
    other = AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")
    provincial = UserFactory(roles=[Role.MANAGER], kind="staff", agency_code="")
    with frozen(APRIL_1):
        mine = _march(manager)
        everyone = _march(provincial)
        theirs = _march(provincial, agency=other.code)

    assert everyone["agency"] is None and everyone["groups"] == mine["groups"]
    assert _groups(theirs)["progress"]["counts"]["all"] == 0


def test_who_may_read_the_scorecard(data, api_client_for, manager, leader, specialist, applicant):
    AgencyFactory(code="tthcc", name="Trung tâm Phục vụ hành chính công")
    assert api_client_for(leader).get(reverse(SCORECARD), MARCH).status_code == 200
    assert api_client_for(specialist).get(reverse(SCORECARD), MARCH).status_code == 403
    assert api_client_for(applicant).get(reverse(SCORECARD), MARCH).status_code == 403
    response = api_client_for(manager).get(reverse(SCORECARD), {**MARCH, "agency": "tthcc"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    list_url = reverse("api:dossiers:scorecard_list", args=["progress", "all"])
    assert api_client_for(manager).get(list_url, {"agency": "tthcc"}).status_code == 403


def test_bad_filters_are_refused(db, api_client_for, manager):
    client = api_client_for(manager)
    response = client.get(reverse(SCORECARD), {"date_from": "2025-03-31",
                                               "date_to": "2025-03-01"})
    assert response.status_code == 400
    assert client.get(reverse(SCORECARD), {"date_from": "31/03/2025"}).status_code == 400
    far = client.get(reverse(SCORECARD), {"date_from": "2025-01-01", "date_to": "9999-12-31"})
    assert far.status_code == 400
    assert far.json()["extra"]["fields"] == {"date_to": ["must be between 2000-01-01 and "
                                                         "2099-12-31"]}
    unknown = reverse("api:dossiers:scorecard_list", args=["progress", "nothing"])
    assert client.get(unknown).status_code == 400


def test_the_scorecard_is_in_the_api_schema(db, api_client_for, manager):
    schema = api_client_for(manager).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    body = schema.json()
    operation = body["paths"]["/api/v1/indicators/scorecard/"]["get"]
    assert {"200", "400", "403"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {
        "agency", "procedure", "date_from", "date_to"}
    group = body["components"]["schemas"]["ScorecardGroup"]
    assert {"key", "score", "max", "counts", "links"} <= set(group["properties"])


# --- the outcome rule ------------------------------------------------------------------


DUE = vn(2025, 3, 10, 14, 0)


@pytest.mark.parametrize(("completed", "by_date", "by_session"), [
    (vn(2025, 3, 7, 16, 0), "early", "early"),
    (vn(2025, 3, 10, 9, 0), "on_time", "early"),  # before the afternoon session of the due
    (vn(2025, 3, 10, 13, 30), "on_time", "on_time"),
    (vn(2025, 3, 10, 16, 0), "on_time", "late"),
    (vn(2025, 3, 11, 8, 0), "late", "late"),
])
def test_the_two_outcome_rules(completed, by_date, by_session):
    calendar = sla.WorkingCalendar()
    assert sla.outcome(completed, DUE, calendar, rule=sla.DATE_RULE) == by_date
    assert sla.outcome(completed, DUE, calendar, rule=sla.SESSION_RULE) == by_session


def test_the_outcome_follows_the_agency_rule(flow, agency):
    assert Agency._meta.get_field("outcome_rule").default == "date"
    completed_after_the_due_hour = vn(2025, 3, 10, 15, 0)
    by_date = flow.issue(flow.accept(MONDAY), completed_after_the_due_hour)
    Agency.objects.filter(pk=agency.pk).update(outcome_rule=Agency.OutcomeRule.SESSION)
    by_session = flow.issue(flow.accept(MONDAY), completed_after_the_due_hour)

    assert by_date.due_at == by_session.due_at == vn(2025, 3, 10, 8, 0)
    assert (by_date.outcome, by_session.outcome) == ("on_time", "late")


def test_scores_are_decimal_exact_at_the_maximum(db, frozen, manager):
    """Nothing to count: every part applies to nothing and scores in full."""
    with frozen(APRIL_1):
        card = _march(manager)
    assert {g["key"]: g["score"] for g in card["groups"]} == {
        "transparency": 6.0, "progress": 20.0, "online": 12.0, "payment": 10.0,
        "satisfaction": 6.0, "digitization": 12.0,
    }
    assert card["total"] == float(Decimal(66))

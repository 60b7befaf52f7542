"""Every route of the portal × every kind of user, generated from the URL configuration.

The routes come from `get_resolver()`, so a new page or endpoint is walked as soon as it is
added; it only needs a line in ROUTES saying who may use it (the test fails, naming the line to
add, until it has one). Each route is asked for by each actor of ACTORS against one dossier of
the `own` agency and applicant, in the `own` unit; each answer is classed as:

- `login`: anonymous and sent to sign in (401/403 from the API, a redirect to /dang-nhap/);
- `403`: signed in, but the action is not for this role;
- `404`: the object is outside the actor's scope (another applicant's, agency's, unit's);
- `ok`: let in: 2xx, 3xx, or a 400/405/409/422 about the request or the dossier's state.

A 5xx is always a failure. Every request runs in a savepoint rolled back afterwards, so what
one actor does never changes what the next one sees.
"""

import json
import os
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone

import pytest

from dossiers.models import ApologySlip, ClockInterval, Document, Dossier, Payment, Result, Unit
from portal.roles import Role

from .conftest import PDF_BYTES
from .dossiers.factories import AgencyFactory, DossierFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db

# Routes not walked, each with its reason; keep this short.
SKIPPED = {
    "admin:": "Django's admin site: its own sign-in (/admin/login/) and per-model permissions, "
              "checked in tests/dossiers/test_access.py and tests/portal/test_admin_labels.py",
    "favicon.ico": "a permanent redirect to a static file",
}

ACTORS = (
    "anonymous", "applicant", "other_applicant", "reception", "specialist",
    "specialist_other_unit", "leader", "manager", "leader_other_agency", "administrator",
)
OK, LOGIN, DENY, HIDE = "ok", "login", "403", "404"


def _rule(**outcomes: str) -> dict[str, str]:
    missing = set(ACTORS) - set(outcomes)
    assert not missing, f"rule without {missing}"
    return outcomes


PUBLIC = {actor: OK for actor in ACTORS}
# Calls only another system may make, signed: nobody signed in here gets through.
SYSTEMS_ONLY = {actor: LOGIN for actor in ACTORS}
# One dossier of the own applicant, own agency, current step in the own unit: who may see it.
SCOPED = _rule(
    anonymous=LOGIN, applicant=OK, other_applicant=HIDE, reception=OK, specialist=OK,
    specialist_other_unit=HIDE, leader=OK, manager=OK, leader_other_agency=HIDE,
    administrator=HIDE,
)


def only(*actors: str, base: dict = SCOPED) -> dict[str, str]:
    """`base`, where those in scope but not named are refused the action (403)."""
    return {a: (OK if a in actors else DENY) if base[a] == OK else base[a] for a in ACTORS}


def roles_only(*actors: str, anonymous: str = LOGIN) -> dict[str, str]:
    """A role check before any object: the named actors pass, other signed-in users get 403."""
    return {a: anonymous if a == "anonymous" else OK if a in actors else DENY for a in ACTORS}


def role_then_scope(*actors: str) -> dict[str, str]:
    """A role check first (403), then the scope (404) for those who hold the role."""
    return {a: SCOPED[a] if a in actors and SCOPED[a] != OK else
            OK if a in actors else LOGIN if a == "anonymous" else DENY for a in ACTORS}


APPLICANTS = ("applicant", "other_applicant")
OFFICERS = ("reception", "specialist", "specialist_other_unit", "leader", "leader_other_agency")
SUPERVISORS = ("leader", "manager", "leader_other_agency")
OWN_APPLICANT = role_then_scope("applicant", "other_applicant")  # 404 for another's dossier
OFFICER_OBJECT = role_then_scope(*OFFICERS)  # officers of the dossier's agency and unit
# Those who read dossiers (applicants, officers, managers), each within their scope; the
# administrator configures the portal and reads none (403).
READS_DOSSIERS = role_then_scope(*APPLICANTS, *OFFICERS, "manager")
RECEPTION_OBJECT = role_then_scope("reception")  # the desk's pages: reception only
# Sign-in with the electronic identity: public once configured; tests run without a provider,
# where both steps answer 404 to everyone.
OIDC_OFF = {actor: HIDE for actor in ACTORS}

ROUTES: dict[str, dict[str, str]] = {
    # public pages and endpoints
    "health": PUBLIC,
    "schema": PUBLIC,
    "swagger-ui": PUBLIC,
    "set_language": PUBLIC,
    "rest_framework:login": PUBLIC,
    "rest_framework:logout": PUBLIC,
    "web:login": PUBLIC,
    "web:logout": PUBLIC,
    "web:public:home": PUBLIC,
    "web:public:procedure": PUBLIC,
    "web:public:lookup": PUBLIC,
    "signatures_pages:verify": PUBLIC,
    "api:signatures:verify": PUBLIC,
    "api:dossiers:procedures": PUBLIC,
    "api:dossiers:procedure": PUBLIC,
    "api:dossiers:lookup": PUBLIC,
    # other systems: the portals sign with a token, the payment platform with its checksum
    "api:dossiers:integrations:national_dossier": SYSTEMS_ONLY,
    "api:dossiers:integrations:provincial_dossier": SYSTEMS_ONLY,
    "api:dossiers:integrations:payment_callback": SYSTEMS_ONLY,
    "api:dossiers:integrations:payment_status": SYSTEMS_ONLY,
    "api:dossiers:integrations:payment_return": only("applicant", base=OWN_APPLICANT),
    # the API: lists, the applicant's own actions
    "api:dossiers:list": roles_only(*ACTORS),
    "api:dossiers:create": roles_only(*APPLICANTS),
    "api:dossiers:form": OWN_APPLICANT,
    "api:dossiers:pay": OWN_APPLICANT,
    "api:dossiers:rate": OWN_APPLICANT,
    "api:dossiers:upload": only("applicant", "reception"),  # reception digitizes paper
    "api:dossiers:submit": only("applicant", base=OWN_APPLICANT),
    "api:dossiers:resubmit": only("applicant"),
    "api:dossiers:supply": only("applicant"),
    "api:dossiers:withdraw": only("applicant"),
    # the API: reads of one dossier
    "api:dossiers:detail": SCOPED,
    "api:dossiers:documents": SCOPED,
    "api:dossiers:download": SCOPED,
    "api:dossiers:timeline": SCOPED,
    "api:dossiers:result": SCOPED,
    "api:dossiers:result_file": SCOPED,
    "api:dossiers:receipt_slip": READS_DOSSIERS,
    "api:dossiers:completion_slip": READS_DOSSIERS,
    "api:dossiers:refusal_slip": READS_DOSSIERS,
    "api:dossiers:apology_slip": READS_DOSSIERS,
    "api:dossiers:control_slip": READS_DOSSIERS,
    # the API: officers' work
    "api:dossiers:queue": roles_only(*OFFICERS),
    "api:dossiers:audit_export": OFFICER_OBJECT,
    "api:dossiers:claim": OFFICER_OBJECT,
    "api:dossiers:assign": only("leader", base=OFFICER_OBJECT),
    "api:dossiers:apology": only("specialist", base=OFFICER_OBJECT),
    "api:dossiers:apology_approve": only("leader", base=OFFICER_OBJECT),
    "api:dossiers:signature_decision": OFFICER_OBJECT,
    "api:dossiers:accept": only("reception"),
    "api:dossiers:return_for_completion": only("reception"),
    "api:dossiers:refuse_at_reception": only("reception"),
    "api:dossiers:request_supplement": only("specialist"),
    "api:dossiers:suspend": only("specialist"),
    "api:dossiers:resume": only("specialist"),
    "api:dossiers:advance_step": only("specialist"),
    "api:dossiers:propose": only("specialist"),
    "api:dossiers:send_back": only("leader"),
    "api:dossiers:approve": only("leader"),
    "api:dossiers:refuse": only("leader"),
    "api:dossiers:issue_result": only("leader"),
    "api:dossiers:return_result": only("reception"),
    "api:dossiers:return_unanswered": only("reception"),
    "api:dossiers:refuse_unanswered": only("leader"),
    # the API: the reception desk
    "api:dossiers:intake": roles_only("reception"),
    "api:dossiers:hand_over_refusal": only("reception", base=OFFICER_OBJECT),
    "api:dossiers:desk_rating": only("reception", base=OFFICER_OBJECT),
    # the API: indicators for supervisors
    "api:dossiers:indicators": roles_only(*SUPERVISORS),
    "api:dossiers:indicators_csv": roles_only(*SUPERVISORS),
    "api:dossiers:overdue_csv": roles_only(*SUPERVISORS),
    "api:dossiers:scorecard": roles_only(*SUPERVISORS),
    "api:dossiers:scorecard_list": roles_only(*SUPERVISORS),
    # signing in: the electronic identity, the staff's second step (a signed-in user who needs
    # no code, or has given it, is sent on)
    "web:oidc_start": OIDC_OFF,
    "web:oidc_callback": OIDC_OFF,
    "web:second_factor": roles_only(*ACTORS),
    "web:second_factor_enrol": roles_only(*ACTORS),
    "web:second_factor_qr": roles_only(*ACTORS),
    # applicants' pages
    "web:applicant:dossiers": roles_only(*APPLICANTS),
    "web:applicant:file_start": roles_only(*APPLICANTS),
    "web:applicant:dossier": OWN_APPLICANT,
    "web:applicant:receipt_slip": OWN_APPLICANT,
    "web:applicant:slip": OWN_APPLICANT,
    "web:applicant:result_file": OWN_APPLICANT,
    "web:applicant:document": OWN_APPLICANT,
    "web:applicant:pay": OWN_APPLICANT,
    "web:applicant:withdraw": OWN_APPLICANT,
    "web:applicant:rate": OWN_APPLICANT,
    "web:applicant:payment_return": OWN_APPLICANT,
    "web:applicant:file_form": OWN_APPLICANT,
    "web:applicant:file_documents": OWN_APPLICANT,
    "web:applicant:file_document_row": OWN_APPLICANT,
    "web:applicant:file_demo_sign": OWN_APPLICANT,
    "web:applicant:file_supply": OWN_APPLICANT,
    "web:applicant:file_resubmit": OWN_APPLICANT,
    "web:applicant:file_review": OWN_APPLICANT,
    # officers' pages
    "web:officers:queue": roles_only(*OFFICERS),
    "web:officers:dossier": OFFICER_OBJECT,
    "web:officers:receipt_slip": OFFICER_OBJECT,
    "web:officers:slip": OFFICER_OBJECT,
    "web:officers:result_file": OFFICER_OBJECT,
    "web:officers:document": OFFICER_OBJECT,
    "web:officers:claim": OFFICER_OBJECT,
    "web:officers:move": only("specialist", base=OFFICER_OBJECT),
    "web:officers:assign": only("leader", base=OFFICER_OBJECT),
    "web:officers:apology_draft": only("specialist", base=OFFICER_OBJECT),
    "web:officers:apology_approve": only("leader", base=OFFICER_OBJECT),
    "web:officers:signature_decide": OFFICER_OBJECT,
    "web:officers:intake": roles_only("reception"),
    "web:officers:intake_done": RECEPTION_OBJECT,
    "web:officers:desk": RECEPTION_OBJECT,
    "web:officers:hand_over_refusal": RECEPTION_OBJECT,
    "web:officers:desk_rating": RECEPTION_OBJECT,
    # supervisors' pages
    "web:managers:dashboard": roles_only(*SUPERVISORS),
    "web:managers:dossiers": roles_only(*SUPERVISORS),
    "web:managers:export_csv": roles_only(*SUPERVISORS),
    "web:managers:export_xlsx": roles_only(*SUPERVISORS),
    "web:managers:scorecard": roles_only(*SUPERVISORS),
    "web:managers:scorecard_dossiers": roles_only(*SUPERVISORS),
}

# The dossier's state while a route is asked for, where the default (`processing`, on the
# unit's review step) would answer 409 before any role is checked.
STATES = {
    "api:dossiers:submit": "draft",
    "api:dossiers:form": "draft",
    "api:dossiers:resubmit": "needs_completion",
    "api:dossiers:accept": "submitted",
    "api:dossiers:return_for_completion": "submitted",
    "api:dossiers:refuse_at_reception": "submitted",
    "api:dossiers:supply": "awaiting_supplement",
    "api:dossiers:upload": "awaiting_supplement",
    "api:dossiers:resume": "suspended",
    "api:dossiers:send_back": "pending_approval",
    "api:dossiers:approve": "pending_approval",
    "api:dossiers:refuse": "pending_approval",
    "api:dossiers:issue_result": "approved",
    "api:dossiers:return_result": "result_ready",
    "api:dossiers:return_unanswered": "awaiting_supplement",
    "api:dossiers:refuse_unanswered": "awaiting_supplement",
    "web:applicant:file_form": "draft",
    "web:applicant:file_documents": "draft",
    "web:applicant:file_document_row": "draft",
    "web:applicant:file_demo_sign": "draft",
    "web:applicant:file_review": "draft",
    "web:applicant:file_supply": "awaiting_supplement",
    "web:applicant:file_resubmit": "needs_completion",
}
REASON = "Lý do kiểm tra quyền truy cập"


def _logged(name: str):
    """The dossier's log records `name` by the reception officer, as the workflow would."""
    def record(users: dict, dossier: Dossier) -> None:
        from dossiers.services.audit import transition_log_append

        dossier = Dossier.objects.get(pk=dossier.pk)
        transition_log_append(
            dossier=dossier, name=name, from_state=dossier.state, to_state=dossier.state,
            actor=users["reception"], actor_label=users["reception"].display_name,
            at=timezone.now(), reason=REASON, step="", clock_effect="", details={})
        dossier.save(update_fields=["audit_head"])
    return record


def _apology_approved(users: dict, dossier: Dossier) -> None:
    due = Dossier.objects.get(pk=dossier.pk).due_at or timezone.now()
    ApologySlip.objects.create(
        dossier=dossier, status=ApologySlip.Status.APPROVED, original_due_at=due,
        new_appointment_at=due + timedelta(days=3), reason=REASON,
        drafted_by=users["specialist"], approved_by=users["leader"], approved_at=timezone.now())


# What the dossier must already hold while a route is asked for, where without it the route
# would answer 409 (a slip the dossier does not have) before showing who may read it.
RECORDS = {
    "api:dossiers:completion_slip": _logged("request_supplement"),
    "api:dossiers:refusal_slip": _logged("refuse_at_reception"),
    "api:dossiers:apology_slip": _apology_approved,
}
# What a request sends, where an empty one would be refused (400) before the rule is checked.
# "{name}" is filled from the world's parameters; a callable is called for each request.
DATA = {
    **{f"api:dossiers:{name}": {"reason": REASON} for name in (
        "submit", "resubmit", "return_for_completion", "refuse_at_reception", "accept",
        "request_supplement", "supply", "suspend", "resume", "advance_step", "propose",
        "send_back", "approve", "refuse", "issue_result", "return_result", "withdraw",
        "return_unanswered", "refuse_unanswered")},
    "api:dossiers:create": {"procedure_id": "{procedure_id}"},
    "api:signatures:verify": lambda: {"file": _pdf()},
    "api:dossiers:form": {"form_data": {"applicant_name": "Công ty TNHH Kiểm Tra"}},
    "api:dossiers:rate": {"score": 5},
    "api:dossiers:upload": lambda: {"component": "don_de_nghi", "file": _pdf()},
    "api:dossiers:assign": {"assignee_id": "{specialist_id}"},
    "api:dossiers:apology": {"new_appointment_at": "2030-01-02T08:00:00+07:00",
                             "reason": REASON},
    "api:dossiers:signature_decision": {"accept": True, "note": REASON},
    "api:dossiers:desk_rating": {"score": 5},
    "api:dossiers:intake": lambda: {
        "procedure": "{procedure_id}", "channel": "counter", "applicant_kind": "citizen",
        "applicant_name": "Nguyễn Văn Kiểm", "id_number": "045090001234", "phone": "0912345678",
        "address": "Đông Hà, Quảng Trị", "scan_don_de_nghi": _pdf()},
    "web:officers:desk_rating": {"score": "5"},
    "web:officers:move": {"version": "{version}", "reason": REASON},
    "web:officers:claim": {"version": "{version}"},
    "web:officers:assign": {"version": "{version}", "assignee_id": "{specialist_id}"},
    "web:officers:apology_draft": {"new_appointment_at": "2030-01-02T08:00", "reason": REASON},
    "web:officers:signature_decide": {"accept": "1", "note": REASON},
    "web:applicant:withdraw": {"reason": REASON},
    "web:applicant:rate": {"score": "5"},
}


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("don.pdf", PDF_BYTES, content_type="application/pdf")


# --- the routes ----------------------------------------------------------------------------


def _walk(resolver=None, prefix: str = "", namespace: str = ""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            key = f"{namespace}{pattern.name}" if pattern.name else prefix + str(pattern.pattern)
            yield key, prefix + str(pattern.pattern)


def _skip_reason(key: str, path: str) -> str | None:
    for start, reason in SKIPPED.items():
        if key.startswith(start) or path.startswith(start.rstrip(":") + "/"):
            return reason
    return None


ALL_ROUTES = sorted({key for key, path in _walk() if _skip_reason(key, path) is None})


# --- the world -----------------------------------------------------------------------------


def signed_in(user) -> Client:
    """The one place a test client signs in (a second factor would be added here)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(db):
    own = AgencyFactory()
    other = AgencyFactory(code="sxd", name="Sở Xây dựng tỉnh Quảng Trị")
    unit = Unit.objects.create(agency=own, code="qltm", name="Phòng Quản lý thương mại")
    Unit.objects.create(agency=own, code="qlcn", name="Phòng Quản lý công nghiệp")
    procedure = ProcedureFactory(agency=own)
    review = procedure.steps.get(code="review")
    review.unit = unit
    review.save()

    def staff(role, agency=own, unit_code=""):
        return UserFactory(roles=[role], kind="staff", agency_code=agency.code,
                           unit_code=unit_code)

    users = {
        "anonymous": None,
        "applicant": UserFactory(roles=[Role.APPLICANT], kind="business",
                                 tax_code="3200123456"),
        "other_applicant": UserFactory(roles=[Role.APPLICANT]),
        "reception": staff(Role.RECEPTION),
        "specialist": staff(Role.SPECIALIST, unit_code="qltm"),
        "specialist_other_unit": staff(Role.SPECIALIST, unit_code="qlcn"),
        "leader": staff(Role.LEADER),
        "manager": staff(Role.MANAGER),
        "leader_other_agency": staff(Role.LEADER, agency=other),
        "administrator": UserFactory(roles=[Role.ADMIN], kind="staff", is_staff=True,
                                     is_superuser=True),
    }
    dossier = DossierFactory(processing=True, applicant=users["applicant"],
                             procedure=procedure, current_step=review)
    document = Document.objects.create(
        dossier=dossier, component=procedure.components.get(code="don_de_nghi"),
        file=ContentFile(PDF_BYTES, name="don.pdf"), original_name="don.pdf",
        sha256="0" * 64, size=len(PDF_BYTES), content_type="application/pdf",
        uploaded_by=users["applicant"],
    )
    payment = Payment.objects.create(dossier=dossier, amount=1_200_000, mode="before",
                                     channel="online", provider="fake")
    Result.objects.create(dossier=dossier, kind=Result.Kind.LICENCE, number="1/GP-SCT",
                          file=ContentFile(PDF_BYTES, name="ket-qua.pdf"),
                          issued_at=timezone.now())
    params = {"dossier": dossier, "specialist_id": users["specialist"].pk,
              "version": dossier.version, "dossier_id": dossier.pk, "document_id": document.pk, "payment_id": payment.pk,
              "procedure_id": procedure.pk, "component_code": "don_de_nghi",
              "action": "request_supplement", "name": "receipt",
              "group": "transparency", "count": "applicable"}
    return users, params


def _url(key: str, params: dict) -> str:
    names = _kwargs(key)
    missing = names - set(params)
    assert not missing, f"{key}: no value for its path parameters {sorted(missing)}"
    return reverse(key, kwargs={name: params[name] for name in names})


def _kwargs(key: str) -> set[str]:
    for name, path in _walk():
        if name == key:
            return {part.split(":")[-1].split(">")[0] for part in path.split("<")[1:]}
    return set()


@contextmanager
def _rolled_back():
    """A savepoint undone afterwards; durable service blocks may open inside it, as they do
    inside a test's own transaction."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    with atomic:
        yield
        transaction.set_rollback(True)


def _body(key: str, params: dict) -> dict:
    data = DATA.get(key, {})
    data = data() if callable(data) else data
    return {k: v.format(**params) if isinstance(v, str) else v for k, v in data.items()}


def _ask(client: Client, key: str, url: str, params: dict):
    response = client.get(url)
    if response.status_code != 405:
        return response
    allowed = [m.strip().lower() for m in response.get("Allow", "POST").split(",")]
    method = next((m for m in ("post", "put", "patch", "delete") if m in allowed), "post")
    data = _body(key, params)
    if not key.startswith("api:") or any(hasattr(v, "read") for v in data.values()):
        return getattr(client, method)(url, data)  # a form, as a browser sends it
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


def _outcome(response, *, anonymous: bool) -> str:
    status = response.status_code
    if status == 401 or (anonymous and status == 403) or (status in (301, 302) and "/dang-nhap/" in response.get("Location", "")):
        return LOGIN
    if status == 403:
        return DENY
    if status == 404:
        return HIDE
    if status < 400 or status in (400, 405, 409, 422):
        return OK
    return f"unexpected {status}"


def _put_in_state(dossier: Dossier, state: str) -> None:
    """The dossier as the workflow leaves it in `state`: an open pause while it waits for a
    supplement or is suspended, no result yet before approval."""
    Dossier.objects.filter(pk=dossier.pk).update(state=state)
    if state in ("awaiting_supplement", "suspended"):
        kind = "supplement" if state == "awaiting_supplement" else "suspension"
        ClockInterval.objects.create(dossier=dossier, kind=kind, policy="pause",
                                     started_at=timezone.now() - timedelta(hours=2))
    if state in ("draft", "submitted", "needs_completion", "pending_approval", "approved"):
        Result.objects.filter(dossier=dossier).delete()


def _observe(key: str, world) -> dict[str, str]:
    users, params = world
    state = STATES.get(key)
    if state:
        _put_in_state(params["dossier"], state)
    if key in RECORDS:
        RECORDS[key](users, params["dossier"])
    url = _url(key, params)
    seen = {}
    demo_signing = override_settings(DEMO_SIGNING=key == "web:applicant:file_demo_sign")
    for actor in ACTORS:
        cache.clear()  # throttles count per test, not across the matrix
        client = signed_in(users[actor])
        with _rolled_back(), demo_signing:
            response = _ask(client, key, url, params)
            seen[actor] = _outcome(response, anonymous=users[actor] is None)
    return seen


def _walked(resolver=None) -> list[str]:
    return sorted({key for key, path in _walk(resolver) if _skip_reason(key, path) is None})


def _rule_gaps(routes: list[str]) -> list[str]:
    """What is wrong with ROUTES for these routes: one message per problem."""
    missing = [key for key in routes if key not in ROUTES]
    stale = sorted(set(ROUTES) - set(routes))
    problems = []
    if missing:
        problems.append(
            "Routes with no access rule; add each to ROUTES in tests/test_access_matrix.py, "
            "e.g. " + ", ".join(f'"{key}": SCOPED' for key in missing)
            + " (or PUBLIC, OWN_APPLICANT, OFFICER_OBJECT, only(...), roles_only(...))"
        )
    if stale:
        problems.append(f"ROUTES names routes that no longer exist: {stale}")
    return problems


def test_every_route_has_a_rule():
    """A new route fails here until ROUTES says who may use it (or SKIPPED why not)."""
    assert not _rule_gaps(ALL_ROUTES), "\n".join(_rule_gaps(ALL_ROUTES))


def test_a_new_route_without_a_rule_is_named_in_the_failure():
    from django.urls import path

    def view(request):  # pragma: no cover - never called
        raise AssertionError

    urlconf = SimpleNamespace(urlpatterns=[
        path("ho-so-moi/<int:dossier_id>/", view, name="brand_new"),
        path("", include(get_resolver().urlconf_name)),
    ])

    gaps = _rule_gaps(_walked(URLResolver(RegexPattern(r"^/"), urlconf)))

    assert len(gaps) == 1
    assert '"brand_new": SCOPED' in gaps[0]
    assert "tests/test_access_matrix.py" in gaps[0]


@pytest.mark.parametrize("key", [k for k in ALL_ROUTES if k in ROUTES])
def test_route_answers_each_actor_by_its_rule(world, key):
    seen = _observe(key, world)

    wrong = {actor: f"expected {ROUTES[key][actor]}, got {seen[actor]}" for actor in ACTORS
             if seen[actor] != ROUTES[key][actor]}
    assert not wrong, f"{key}: {wrong}"


@pytest.mark.skipif(not os.environ.get("ACCESS_MATRIX_PROBE"), reason="prints the observed matrix")
def test_probe(world):
    lines = []
    for key in ALL_ROUTES:
        with _rolled_back():
            seen = _observe(key, world)
        lines.append(f"{key:50} " + " ".join(f"{seen[a]:>5}" for a in ACTORS))
    print("\n".join(lines))

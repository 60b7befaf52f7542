"""The API answers as its OpenAPI schema says, for an applicant and for every officer role.

schemathesis generates requests from the schema the portal serves at /api/schema/ and sends
them to a live server holding demo data (dossiers in many states, with documents, payments and
results), signed in as each role. Every answer must be free of server errors and agree with the
schema: a documented status code, the documented content type, a body valid against its schema.

Bounded for CI (a few examples per operation, a fixed seed); for a wider local run:
    SCHEMATHESIS_MAX_EXAMPLES=200 .venv/bin/pytest tests/api/test_schemathesis.py
"""

import os
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dossiers.models import Document, Dossier, Payment, Procedure
from dossiers.selectors import dossier_list_for
from dossiers.services.demo import DEMO_PASSWORD, demo_seed
from portal.roles import Role

from .sessions import api_session_for

pytestmark = [pytest.mark.schemathesis]
User = get_user_model()

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
# One demo account per officer role, all of the agency that handles the seeded dossiers; the
# applicant is the one who owns the most of them.
ACCOUNTS = {
    Role.RECEPTION: "tiepnhan",
    Role.SPECIALIST: "chuyenvien",
    Role.LEADER: "lanhdao",
    Role.MANAGER: "quanly",
}
# How many operations on a dossier, document or payment must succeed at least once per role.
MIN_REACHED = {Role.APPLICANT: 4, Role.RECEPTION: 4, Role.SPECIALIST: 4, Role.LEADER: 4,
               Role.MANAGER: 3}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The inbound endpoints that other systems call (the portals, the payment platform) take no
# session: an HMAC signature over the body is their only authentication, so no role of ours
# gets past their first check; their own tests send signed requests
# (tests/dossiers/test_inbound.py, tests/dossiers/test_payments.py).
INBOUND = "/api/v1/inbound/"


def _signed_by_another_system(operation) -> bool:
    security = operation.definition.raw.get("security") or [{}]
    return operation.path.startswith(INBOUND) and all(not s for s in security)


# Each path parameter is drawn mostly from the seeded objects the signed-in user may see (one
# dossier per state, their documents and payments), then from one the user may not see, and
# now and then from anywhere.
OWN_OBJECTS_PER_PARAMETER = 8


def _visible(user) -> dict[str, list[int]]:
    dossiers = list(dossier_list_for(user=user).order_by("state", "pk"))
    by_state = {d.state: d.pk for d in reversed(dossiers)}
    picked = [*by_state.values(), *(d.pk for d in dossiers if d.pk not in by_state.values())]
    pools = {
        "dossier_id": picked[:OWN_OBJECTS_PER_PARAMETER],
        "document_id": list(Document.objects.filter(dossier_id__in=picked).order_by("-pk")
                            .values_list("pk", flat=True)[:OWN_OBJECTS_PER_PARAMETER]),
        "payment_id": list(Payment.objects.filter(dossier_id__in=picked).order_by("-pk")
                           .values_list("pk", flat=True)[:OWN_OBJECTS_PER_PARAMETER]),
        "procedure_id": list(Procedure.objects.order_by("pk").values_list("pk", flat=True)[:4]),
    }
    others = {
        "dossier_id": Dossier.objects.exclude(pk__in=[d.pk for d in dossiers]),
        "document_id": Document.objects.exclude(dossier__in=dossiers),
        "payment_id": Payment.objects.exclude(dossier__in=dossiers),
    }
    for name, queryset in others.items():
        pools[name] += list(queryset.order_by("pk").values_list("pk", flat=True)[:1])
    return pools


def _path_choices(operation, pools: dict[str, list[int]]) -> list[dict]:
    names = [p.name for p in operation.path_parameters]
    used = {name: pools[name] for name in names if pools.get(name)}
    longest = max((len(pool) for pool in used.values()), default=0)
    chosen = [{name: pool[i % len(pool)] for name, pool in used.items()} for i in range(longest)]
    return [*chosen, {}]  # {}: every parameter generated


def _strategy(operation, pools: dict[str, list[int]]):
    choices = _path_choices(operation, pools)
    return st.one_of([
        *(operation.as_strategy(path_parameters=c or None) for c in choices),
        *(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE,
                                path_parameters=c or None) for c in (choices[0], choices[-1])),
    ])


@dataclass
class Finding:
    role: str
    operation: str
    error: str = field(repr=False)


def _run(operation, *, base_url: str, session: requests.Session, pools: dict[str, list[int]],
         statuses: list[int]) -> str | None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=_strategy(operation, pools))
    def exercise(case):
        response = case.call(base_url=base_url, session=session, timeout=60)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        exercise()
    except (Exception, BaseExceptionGroup) as exc:  # failed checks, with the request shown
        return str(exc)
    return None


@pytest.fixture
def accounts(live_server) -> dict[str, str]:
    """The demo data, and who signs in for each role."""
    summary = demo_seed(dossiers=16)
    assert len(summary.by_state) >= 5  # drafts, dossiers under way, results, refusals...
    owner = (User.objects.filter(dossiers__isnull=False).annotate(n=Count("dossiers"))
             .order_by("-n", "pk").first())
    owner.set_password(DEMO_PASSWORD)
    owner.save()
    return {Role.APPLICANT: owner.username, **ACCOUNTS}


def test_openapi_schema_is_valid_without_warnings(db, tmp_path):
    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate",
                 "--fail-on-warn")


def test_the_api_conforms_to_its_schema_for_every_role(live_server, accounts):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = [op for op in operations if not _signed_by_another_system(op)]
    assert len(tested) >= 40
    assert any(op.path.startswith(INBOUND) for op in tested)  # the payment return is a user's

    findings: list[Finding] = []
    reached: dict[str, set[str]] = {}
    for role, username in accounts.items():
        pools = _visible(User.objects.get(username=username))
        with api_session_for(username) as session:
            for operation in tested:
                statuses: list[int] = []
                error = _run(operation, base_url=live_server.url, session=session, pools=pools,
                             statuses=statuses)
                if error:
                    findings.append(Finding(role, operation.label, error))
                if any(200 <= status < 300 for status in statuses):
                    reached.setdefault(role, set()).add(operation.label)
    report = "\n\n".join(f"[{f.role}] {f.operation}\n{f.error}" for f in findings)
    assert not findings, f"{len(findings)} operations answer against the schema:\n\n{report}"
    # The run got past the gates to real objects: every role had operations succeed on them,
    # beyond the public catalog.
    for role in accounts:
        on_objects = {label for label in reached.get(role, ()) if "_id}" in label}
        assert len(on_objects) >= MIN_REACHED[role], (role, sorted(reached.get(role, ())))

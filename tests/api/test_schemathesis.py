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

from django.core.management import call_command

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
from dossiers.services.demo import demo_seed
from portal.roles import Role

from .sessions import api_session_for

pytestmark = [pytest.mark.schemathesis]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
# One demo account per role; the applicant owns some of the seeded dossiers, the officers
# belong to the agency that handles them.
ACCOUNTS = {
    Role.APPLICANT: "congdan",
    Role.RECEPTION: "tiepnhan",
    Role.SPECIALIST: "chuyenvien",
    Role.LEADER: "lanhdao",
    Role.MANAGER: "quanly",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Called by other systems, authenticated by an HMAC signature over the body and never by a
# user's session: no role of ours can reach past the signature check, and those endpoints have
# their own tests with signed requests (tests/dossiers/test_inbound.py, test_payments.py).
SIGNED_PATHS = ("/api/v1/inbound/national/", "/api/v1/inbound/provincial/",
                "/api/v1/inbound/payments/callback", "/api/v1/inbound/payments/status")
# Each path parameter is drawn from the seeded objects (so operations reach real dossiers,
# documents and payments, the user's own and others') or, now and then, from anywhere.
PATH_OBJECTS = {
    "dossier_id": Dossier, "document_id": Document, "payment_id": Payment,
    "procedure_id": Procedure,
}


@dataclass
class Finding:
    role: str
    operation: str
    error: str = field(repr=False)


def _path_choices(operation) -> list[dict]:
    names = [p.name for p in operation.path_parameters]
    if not names:
        return [{}]
    choices: list[dict] = [{}]
    pools = {name: list(PATH_OBJECTS[name].objects.order_by("pk").values_list("pk", flat=True))
             for name in names if name in PATH_OBJECTS}
    for index in range(8):
        chosen = {name: pool[(index * 7) % len(pool)] for name, pool in pools.items() if pool}
        if chosen:
            choices.append(chosen)
    return choices


def _strategy(operation):
    return st.one_of([
        operation.as_strategy(generation_mode=mode, path_parameters=chosen or None)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for chosen in _path_choices(operation)
    ])


def _run(operation, *, base_url: str, session: requests.Session) -> str | None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=_strategy(operation))
    def exercise(case):
        case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=60)

    try:
        exercise()
    except (Exception, BaseExceptionGroup) as exc:  # failed checks, with the request shown
        return str(exc)
    return None


@pytest.fixture
def demo_world(live_server):
    summary = demo_seed(dossiers=16)
    assert len(summary.by_state) >= 5  # drafts, dossiers under way, results, refusals...
    return summary


def test_openapi_schema_is_valid_without_warnings(db, tmp_path):
    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate",
                 "--fail-on-warn")


def test_the_api_conforms_to_its_schema_for_every_role(live_server, demo_world):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = [op for op in operations if not op.path.startswith(SIGNED_PATHS)]
    assert len(tested) >= 40 and len(operations) - len(tested) == 4

    findings: list[Finding] = []
    for role, username in ACCOUNTS.items():
        with api_session_for(username) as session:
            for operation in tested:
                error = _run(operation, base_url=live_server.url, session=session)
                if error:
                    findings.append(Finding(role, operation.label, error))
    report = "\n\n".join(f"[{f.role}] {f.operation}\n{f.error}" for f in findings)
    assert not findings, f"{len(findings)} operations answer against the schema:\n\n{report}"

"""Garbage in every field of every write endpoint: always a 4xx in the one error shape."""

from django.urls import reverse

from tests.dossiers.factories import DossierFactory, ProcedureFactory

BAD = [None, "", "x", [], {}, {"a": 1}, -1, 10**30, "' OR 1=1", "\x00", [1, {"b": None}]]

def test_garbage_in_any_field_never_gives_a_server_error(applicant, reception, manager, leader, api_client_for):
    d = DossierFactory(applicant=applicant)
    s = DossierFactory(submitted=True)
    ProcedureFactory()  # a catalog entry, so procedure ids can be wrong in other ways
    posts = [
        ("create", []), ("form", [d.pk]), ("submit", [d.pk]), ("withdraw", [s.pk]),
        ("accept", [s.pk]), ("claim", [s.pk]), ("assign", [s.pk]), ("pay", [d.pk]),
        ("rate", [d.pk]), ("apology", [s.pk]), ("issue_result", [s.pk]),
        ("request_supplement", [s.pk]), ("upload", [d.pk]),
    ]
    fails = []
    for user in (applicant, reception, leader):
        c = api_client_for(user)
        for name, args in posts:
            for bad in BAD:
                for field in ("procedure_id", "form_data", "version", "reason", "assignee_id",
                              "score", "new_appointment_at", "kind", "component", "file"):
                    body = {field: bad}
                    method = c.put if name == "form" else c.post
                    try:
                        r = method(reverse(f"api:dossiers:{name}", args=args), body, format="json")
                    except Exception as exc:
                        fails.append((name, field, repr(bad), repr(exc)[:200]))
                        continue
                    if r.status_code >= 500:
                        fails.append((name, field, repr(bad), r.status_code))
                    elif r.status_code >= 400 and set(r.json()) != {"code", "message", "extra"}:
                        fails.append((name, field, repr(bad), r.json()))
        for q in [{"page_size": "abc"}, {"cursor": "%%%"}, {"due": "x"}, {"assignee": "-1"},
                  {"procedure": "abc"}, {"state": "\x00"}]:
            r = c.get(reverse("api:dossiers:queue"), q)
            if r.status_code >= 500:
                fails.append(("queue", q, r.status_code))
    m = api_client_for(manager)
    for q in [{"date_from": "2025-13-01"}, {"group_by": "x"}, {"procedure": "x"}, {"agency": "\x00"}]:
        for n in ("indicators", "indicators_csv"):
            r = m.get(reverse(f"api:dossiers:{n}"), q)
            if r.status_code >= 500:
                fails.append((n, q, r.status_code))
    anon = api_client_for()
    for q in [{"code": "x" * 100, "secret": "y"}, {"code": "\x00", "secret": "\x00"}]:
        r = anon.get(reverse("api:dossiers:lookup"), q)
        if r.status_code >= 500:
            fails.append(("lookup", q, r.status_code))
    for body in [b"", b"not json", b'{"a":1}']:
        r = anon.post("/api/v1/inbound/national/dossiers/", body, content_type="application/json")
        if r.status_code >= 500:
            fails.append(("inbound", body, r.status_code))
        r = anon.post("/api/v1/inbound/payments/callback", body, content_type="application/json")
        if r.status_code >= 500:
            fails.append(("callback", body, r.status_code))
        r = anon.post("/api/v1/signatures/verify/", {"file": body}, format="multipart")
        if r.status_code >= 500:
            fails.append(("verify", body, r.status_code))
    assert fails == []

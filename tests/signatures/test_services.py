"""Trust store import, the revocation cache refresh and its allowlist, identity parsing."""

from io import StringIO

from django.core.management import CommandError, call_command

import pytest

from signatures.exceptions import InvalidCertificate
from signatures.models import RevocationRecord, TrustedCertificate
from signatures.report import identity_from_certificate
from signatures.services import host_allowed, revocation_cache_refresh, trust_anchor_import
from signatures.tasks import refresh_revocation_cache

from .pki import CA_CRL
from .servers import serve, static_handler


def test_import_trust_anchors_reads_pem_and_der_and_prints_fingerprints(db, pki, tmp_path):
    pem_file = tmp_path / "root.pem"
    pem_file.write_bytes(pki.gov_root.pem)
    der_file = tmp_path / "ca.cer"
    der_file.write_bytes(pki.ca.der)
    out = StringIO()

    call_command("import_trust_anchors", str(pem_file), str(der_file), "--scope", "government",
                 stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(pki.gov_root.asn1().sha256.hex())
    assert lines[1].split()[1] == "intermediate"
    roles = dict(TrustedCertificate.objects.values_list("fingerprint_sha256", "role"))
    assert roles[pki.gov_root.asn1().sha256.hex()] == "root"


def test_import_refuses_what_is_not_a_certificate(db, tmp_path):
    bad = tmp_path / "x.pem"
    bad.write_bytes(b"not a certificate")

    with pytest.raises(CommandError):
        call_command("import_trust_anchors", str(bad), stdout=StringIO())


def test_an_end_entity_certificate_is_not_a_trust_anchor(db, pki):
    with pytest.raises(InvalidCertificate):
        trust_anchor_import(data=pki.leaves["business"].pem, scope="public")


def test_refresh_fetches_crls_only_from_allowlisted_hosts(db, pki, settings):
    trust_anchor_import(data=pki.root.pem, scope="public")
    trust_anchor_import(data=pki.ca.pem, scope="public")
    crl = pki.crls()[CA_CRL]
    with serve(static_handler({"/ca.crl": crl})) as (server, url):
        host = url.removeprefix("http://")
        settings.SIGNATURES_REVOCATION_HOSTS = [host]
        settings.SIGNATURES_CRL_URLS = [f"{url}/ca.crl"]
        refresh_revocation_cache.delay()
        stored = RevocationRecord.objects.get(source=f"{url}/ca.crl")

        settings.SIGNATURES_REVOCATION_HOSTS = ["crl.other.example"]
        outcome = revocation_cache_refresh(sources=[f"{url}/ca.crl"])

    assert bytes(stored.der) == crl
    assert server.hits == ["/ca.crl"]  # the second refresh did not touch the server
    assert outcome == {f"{url}/ca.crl": "revocation_host_not_allowed"}


def test_a_crl_not_signed_by_our_trust_store_is_not_cached(db, pki, settings):
    settings.SIGNATURES_REVOCATION_HOSTS = ["crl.test.invalid"]
    trust_anchor_import(data=pki.root.pem, scope="public")
    forged = pki.crls()[CA_CRL]  # issued by the CA, which is not in the store here

    outcome = revocation_cache_refresh(sources=["http://crl.test.invalid/ca.crl"],
                                       fetch=lambda url: forged)

    assert outcome["http://crl.test.invalid/ca.crl"].startswith("error: no trusted issuer")
    assert not RevocationRecord.objects.exists()


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://crl.ca.vn/a.crl", True),
    ("https://CRL.CA.VN/a.crl", True),
    ("http://crl.ca.vn.evil.example/a.crl", False),
    ("http://127.0.0.1:9/a.crl", False),
    ("ldap://crl.ca.vn/cn=x", False),
    ("file:///etc/passwd", False),
])
def test_host_allowlist(url, allowed):
    assert host_allowed(url, ["crl.ca.vn"]) is allowed


def test_identity_reads_mst_from_uid_and_cccd_from_serial_number(pki):
    business = identity_from_certificate(pki.leaves["business"].asn1())
    citizen = identity_from_certificate(pki.leaves["citizen"].asn1())

    assert (business.tax_code, business.citizen_id) == ("0101234567", "")
    assert (citizen.tax_code, citizen.citizen_id) == ("", "001085012345")
    assert citizen.name == "Nguyễn Thị Hoa"

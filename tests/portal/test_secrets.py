"""No secret is committed: the repository's files (git ls-files) carry no private key, no
access token and no long random value given to a secret-like name. Secrets come from the
environment (portal/settings.py); the test PKI is generated when the tests run
(tests/signatures/pki.py, signatures/devpki.py).

The patterns are assembled from pieces so that this file does not match itself."""

import math
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "-" * 5 + "BEGIN ", "-" * 5

KEY_BLOCK = re.compile(
    re.escape(BEGIN) + r"(?:RSA |EC |DSA |ENCRYPTED |OPENSSH |PGP )?PRIVATE KEY(?: BLOCK)?"
    + re.escape(END)
)
TOKENS = {
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
SENSITIVE_WORDS = r"(?:secret|passw(?:or)?d|passphrase|token|api[_-]?key|private[_-]?key|access[_-]?key|pin)"
ASSIGNMENT = re.compile(
    r"(?i)[\w.-]*" + SENSITIVE_WORDS + r"[\w.-]*[\"']?\s*(?:=|:|=>)\s*[bru]?[\"']([^\"'\s]{16,})[\"']"
)
# An environment file's line: NAME=value, unquoted.
ENV_LINE = re.compile(r"(?m)^\s*(?:export\s+)?[A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|API_KEY|"
                      r"PRIVATE_KEY|ACCESS_KEY|PIN)[A-Z0-9_]*=([^\s\"'#]{16,})\s*$")
MIN_ENTROPY = 3.5  # bits per character: hex and base64 keys lie above, words and names below
# What looks like a secret and is not one, each with its reason (path, value).
ALLOWED = {
    # (none yet: every value found so far is a placeholder, a published demo value or short)
}
PKCS12_SUFFIXES = (".p12", ".pfx")


def looks_random(value: str) -> bool:
    """A key or token rather than a word, a name, a path, an address or a template."""
    if len(value) < 20:
        return False
    if re.fullmatch(r"[A-Za-z][a-z0-9]*(?:[-_. ][A-Za-z0-9]+)*", value) and not re.search(
        r"[0-9][a-z]|[a-z][0-9]", value
    ):
        return False  # words joined by - _ . (a placeholder, a setting's name)
    if re.fullmatch(r"\{\{.*|\{%.*|%\(.*|[\w.]+\(.*|/[\w/.-]*|https?://\S*", value):
        return False  # a template, a call, a path or an address
    if re.fullmatch(r"[0-9a-f]{32,}", value):
        return entropy(value) >= 2.8  # hex: at most 4 bits a character
    return entropy(value) >= MIN_ENTROPY


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def findings(path: str, data: bytes) -> list[str]:
    """What in one file looks like a committed secret."""
    found = []
    if path.lower().endswith(PKCS12_SUFFIXES) or _is_pkcs12(data):
        found.append(f"{path}: a PKCS#12 key store")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return found
    if KEY_BLOCK.search(text):
        found.append(f"{path}: a private key block")
    for what, pattern in TOKENS.items():
        if pattern.search(text):
            found.append(f"{path}: a {what}")
    for match in [*ASSIGNMENT.finditer(text), *ENV_LINE.finditer(text)]:
        value = match.group(1)
        if (path, value) in ALLOWED or not looks_random(value):
            continue
        found.append(f"{path}: a random-looking value for {match.group(0).split('=')[0][:40]!r}")
    return found


def _is_pkcs12(data: bytes) -> bool:
    """DER: SEQUENCE { INTEGER 3, SEQUENCE { OID pkcs7-data ... } }, as PKCS#12 starts."""
    if len(data) < 24 or data[0] != 0x30:
        return False
    head = data[:32]
    return b"\x02\x01\x03\x30" in head and b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01" in data[:64]


def _tracked_files() -> list[str]:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the scan reads the files git tracks")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_the_repository_holds_no_private_key_token_or_secret_value():
    files = _tracked_files()
    assert len(files) > 100  # the scan reaches the repository

    problems = []
    for name in files:
        path = ROOT / name
        if path.is_file():
            problems += findings(name, path.read_bytes())
    assert problems == []


# --- the scanner finds what it looks for ------------------------------------------------------


def _pem_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _openssh_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode()


def _pkcs12() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    return pkcs12.serialize_key_and_certificates(
        b"demo", ec.generate_private_key(ec.SECP256R1()), None, None,
        BestAvailableEncryption(b"motcua"),
    )


def test_the_scanner_finds_generated_keys():
    assert findings("a.py", f"KEY = '''{_pem_key()}'''".encode()) == ["a.py: a private key block"]
    assert findings("id_ed25519", _openssh_key().encode()) == ["id_ed25519: a private key block"]
    assert findings("store.bin", _pkcs12()) == ["store.bin: a PKCS#12 key store"]
    assert findings("agency.p12", b"\x00") == ["agency.p12: a PKCS#12 key store"]


@pytest.mark.parametrize("line", [
    "aws = '" + "AKIA" + "Q3EGRJ5YVXT7PLMN" + "'",
    "GH=" + "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "SLACK = '" + "xoxb-" + "1234567890-abcdefghij" + "'",
    "key: " + "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "Authorization: Bearer " + "eyJ" + "hbGciOiJIUzI1NiJ9." + "eyJ" + "zdWIiOiIxMjM0In0.abcdefghijkl",
    'PAYMENT_SECRET = "' + "9fK2xQ7vLm3Rt8Wz" + "Hc4Np6Bs1Yd5Ge0J" + '"',
    "DJANGO_SECRET_KEY=" + "'x7#Kp2$vQ9mL" + "w4Rz8Tn6Yb3Hc5'",
    '"api_key": "' + "c0ffee15deadbeef" + "8badf00dfeedface" + '"',
    "INBOUND_HMAC_SECRET=" + "Zq8wXv3Lr5Tn" + "Pk2Hs9Jd4Fb7",
], ids=["aws", "github", "slack", "google", "jwt", "secret", "django-key", "api-key-json",
        "env-file"])
def test_the_scanner_finds_tokens_and_random_values_given_to_secret_names(line):
    assert findings("config.py", line.encode()) != []


@pytest.mark.parametrize("line", [
    'SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")',
    'DEVELOPMENT_SECRET_KEY = "insecure-development-key-change-me"',
    'DEMO_PASSWORD = "motcua-demo-2025"',
    'PAYMENT_SECRET=motcua-payment-secret',
    'password = "{{ form.password.value }}"',
    'token_url = "https://dvc.example.gov.vn/oauth/token"',
], ids=["from-env", "dev-default", "demo-password", "demo-env", "template", "address"])
def test_the_scanner_leaves_placeholders_names_and_published_demo_values(line):
    assert findings("settings.py", line.encode()) == []

"""Every page string has an English translation, and pages switched to English read in English.

Vietnamese is the source language: the msgids are Vietnamese, the English catalog lives in
locale/en/LC_MESSAGES/django.po. A string added to a template or to the web code without
an English translation makes these tests fail. The official paper templates (printed slips,
results) are Vietnamese by law and are not checked.
"""

import ast
import gettext as gettext_module
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.template import engines
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils import translation
from django.utils.translation import trans_real

import pytest

from portal.roles import Role
from tests.dossiers.factories import UserFactory

ROOT = Path(settings.BASE_DIR)
LOCALE_DIR = ROOT / "locale"
PO_FILE = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# Template folders whose pages users see (the paper templates are excluded below).
TEMPLATE_ROOTS = [ROOT / "web" / "templates", ROOT / "templates"]
PAPER_PARTS = {"papers"}

# Strings that read the same in both languages: the product name and a marker.
SAME_IN_ENGLISH = {"Một Cửa", "DEMO"}

GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy",
                 "pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}

VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]",
                                re.IGNORECASE)


@pytest.fixture(scope="module", autouse=True)
def english_catalog():
    """Compile the English catalog when the .mo is missing or older than the .po."""
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        if shutil.which("msgfmt") is None:
            pytest.skip("msgfmt (GNU gettext) is not installed: the English catalog cannot be "
                        "compiled; install gettext or run `make messages`")
        # Only the project's own locale folder: LOCALE_PATHS, no walk of the tree.
        call_command("compilemessages", locale=["en"], ignore_patterns=["*"], verbosity=0)
    # Catalogs loaded earlier in this process may predate the compiled file.
    trans_real._translations = {}
    trans_real._default = None
    gettext_module._translations.clear()
    yield


def _page_templates():
    for base in TEMPLATE_ROOTS:
        for path in sorted(base.rglob("*.html")):
            if PAPER_PARTS.isdisjoint(path.relative_to(base).parts):
                yield path


def _template_messages(path):
    """(msgid, plural or None, context or None) of every translate tag in one template."""
    template = engines["django"].engine.from_string(path.read_text(encoding="utf-8"))
    found = []
    for node in template.nodelist.get_nodes_by_type(TranslateNode):
        var = node.filter_expression.var
        literal = getattr(var, "literal", None)
        if node.noop or not isinstance(literal, str):
            continue  # {% translate some_variable %}: translated where the value is made
        context = node.message_context.var.literal if node.message_context else None
        found.append((literal, None, context))
    for node in template.nodelist.get_nodes_by_type(BlockTranslateNode):
        singular, _vars = node.render_token_list(node.singular)
        plural = node.render_token_list(node.plural)[0] if node.plural else None
        context = node.message_context.var.literal if node.message_context else None
        found.append((singular, plural, context))
    return found


def _code_messages():
    """(msgid, plural, context, where) of gettext calls with literal strings in the web app."""
    found = []
    for path in sorted((ROOT / "web").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in GETTEXT_NAMES:
                continue
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                    for a in call.args]
            context = None
            if name.startswith(("pgettext", "npgettext")):
                context, args = args[0] if args else None, args[1:]
            if not args or args[0] is None:
                continue
            plural = args[1] if name.startswith(("ngettext", "npgettext")) and len(args) > 1 \
                else None
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            found.append((args[0], plural, context, where))
    return found


def _english(msgid, plural, context):
    """The English of one message, in singular and plural."""
    with translation.override("en"):
        if plural is not None:
            if context:
                return [translation.npgettext(context, msgid, plural, n) for n in (1, 5)]
            return [translation.ngettext(msgid, plural, n) for n in (1, 5)]
        if context:
            return [translation.pgettext(context, msgid)]
        return [translation.gettext(msgid)]


def _untranslated(msgid, plural, context):
    if msgid in SAME_IN_ENGLISH or not msgid.strip():
        return False
    sources = [msgid, plural] if plural is not None else [msgid]
    return any(english in sources for english in _english(msgid, plural, context))


def test_every_page_template_string_has_english():
    templates = list(_page_templates())
    assert any(p.name == "base.html" for p in templates)
    assert not any("papers" in p.parts for p in templates)
    checked, missing = 0, []
    for path in templates:
        for msgid, plural, context in _template_messages(path):
            checked += 1
            if _untranslated(msgid, plural, context):
                missing.append(f"{path.relative_to(ROOT)}: {msgid!r}")
    assert checked > 300, f"only {checked} template strings found: the walk misses templates"
    assert not missing, "strings without English in locale/en/LC_MESSAGES/django.po " \
        "(run makemessages -l en and translate them):\n" + "\n".join(missing)


def test_every_web_code_string_has_english():
    messages = _code_messages()
    assert len(messages) > 100
    missing = [f"{where}: {msgid!r}" for msgid, plural, context, where in messages
               if _untranslated(msgid, plural, context)]
    assert not missing, "strings without English in locale/en/LC_MESSAGES/django.po:\n" + \
        "\n".join(missing)


def test_catalog_has_no_empty_or_fuzzy_entries():
    """Empty msgstr are shown in Vietnamese; fuzzy entries are left out when compiling."""
    text = PO_FILE.read_text(encoding="utf-8")
    assert re.search(r'^"Language: en\\n"$', text, re.MULTILINE)
    entries = text.split("\n\n")[1:]  # the first block is the header
    assert len(entries) > 500
    empty, fuzzy = [], []
    for entry in entries:
        lines = [ln for ln in entry.splitlines() if ln.strip()]
        if all(ln.startswith("#~") for ln in lines):
            continue  # obsolete
        msgid = re.search(r'^msgid "(.*)"', entry, re.MULTILINE)
        if re.search(r"^#,.*\bfuzzy\b", entry, re.MULTILINE):
            fuzzy.append(msgid.group(1) if msgid else entry)
        for match in re.finditer(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', entry + "\n",
                                 re.MULTILINE):
            value = "".join(re.findall(r'"(.*)"', match.group(1)))
            if not value:
                empty.append(msgid.group(1) if msgid else entry)
    assert not empty, f"{len(empty)} entries without English, e.g. {empty[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries, e.g. {fuzzy[:5]}"


def test_catalog_keeps_placeholders():
    """Every English message carries the same %(name)s / {name} placeholders as its msgid."""
    mo = gettext_module.GNUTranslations(MO_FILE.open("rb"))
    pattern = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{\w*\}")
    bad = []
    for key, english in mo._catalog.items():
        if not key:
            continue  # metadata
        msgid = key[0] if isinstance(key, tuple) else key
        msgid = msgid.split("\x04", 1)[-1]
        if isinstance(key, tuple) and key[1] == 1:
            continue  # plural forms may drop the count ("1 dossier"), checked below
        if sorted(pattern.findall(msgid)) != sorted(pattern.findall(english)):
            bad.append((msgid, english))
    assert not bad, bad[:5]


def _english_client(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def _assert_english(body, english, vietnamese):
    assert '<html lang="en">' in body
    for words in english:
        assert words in body, f"{words!r} missing from the English page"
    for words in vietnamese:
        assert words not in body, f"Vietnamese {words!r} left on the English page"


@pytest.mark.django_db
def test_home_page_in_english(client):
    body = _english_client(client).get("/").content.decode()
    _assert_english(
        body,
        english=["Administrative procedure catalog", "Search", "Look up", "Log in",
                 "Skip to main content", "Department of Industry and Trade"],
        vietnamese=["Danh mục thủ tục hành chính", "Tìm kiếm", "Tra cứu", "Đăng nhập",
                    "Sở Công Thương"],
    )


@pytest.mark.django_db
def test_login_page_in_english(client):
    body = _english_client(client).get("/dang-nhap/").content.decode()
    _assert_english(body, english=["Username", "Password", "Log in"],
                    vietnamese=["Tên đăng nhập", "Mật khẩu", "Đăng nhập"])
    response = client.post("/dang-nhap/", {"username": "nobody", "password": "wrong"})
    assert "Incorrect username or password" in response.content.decode()


@pytest.mark.django_db
def test_lookup_page_in_english(client):
    client = _english_client(client)
    body = client.get("/tra-cuu/").content.decode()
    _assert_english(body, english=["Track the status of a dossier", "Dossier code", "Lookup key"],
                    vietnamese=["Tra cứu tình trạng hồ sơ", "Mã hồ sơ", "Mã tra cứu"])
    body = client.get("/tra-cuu/", {"code": "", "secret": ""}).content.decode()
    assert "Enter the dossier code." in body and "Nhập mã hồ sơ." not in body


@pytest.mark.django_db
def test_signed_in_pages_in_english(client):
    user = UserFactory(roles=[Role.APPLICANT])
    client.force_login(user)
    body = _english_client(client).get("/ho-so-cua-toi/").content.decode()
    _assert_english(body, english=["My dossiers", "Log out"],
                    vietnamese=["Hồ sơ của tôi", "Đăng xuất"])
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S))
    leftovers = [w for w in visible.split() if VIETNAMESE_LETTERS.search(w)]
    # Names of people and procedures stay Vietnamese; page labels must not.
    assert leftovers == [] or set(leftovers) <= set(user.display_name.split()) | {"Một", "Cửa"}, \
        leftovers

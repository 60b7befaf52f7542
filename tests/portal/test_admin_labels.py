"""The admin speaks Vietnamese: every label an administrator reads there is Vietnamese (or a
code such as ID or URL), never a plain English word left from a field name."""

import re

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, label_for_field
from django.core.exceptions import FieldDoesNotExist
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

import pytest

from dossiers.admin import OutboundMessageAdmin
from dossiers.models import OutboundMessage, Procedure
from portal.models import User

# Codes and acronyms that read the same in Vietnamese.
ALLOWED_WORDS = {
    "ID", "URL", "API", "CCCD", "MST", "PDF", "HMAC", "OCSP", "CRL", "SHA-256", "HTTP", "JSON",
    "TTHC", "MIME", "DVC",
}
# Apps whose own labels are still pending (none: every app is checked).
PENDING_APPS: set[str] = set()

VIETNAMESE = re.compile(r"[^\x00-\x7f]")


def is_english(label) -> bool:
    """True for a label with a plain-ASCII word that is not an allowed code."""
    text = str(label)
    if VIETNAMESE.search(text):
        return False
    words = re.findall(r"[A-Za-z][A-Za-z0-9-]*", text)
    return any(word not in ALLOWED_WORDS for word in words)


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _field_labels(where: str, field) -> list[tuple[str, str]]:
    labels = [(f"{where} (nhãn)", field.verbose_name)]
    if getattr(field, "help_text", ""):
        labels.append((f"{where} (hướng dẫn)", field.help_text))
    for value, label in getattr(field, "flatchoices", None) or []:
        labels.append((f"{where} (lựa chọn {value!r})", label))
    return labels


def _form_labels(model_admin, request, obj, where: str) -> list[tuple[str, str]]:
    """Labels of the add (obj None) or change form: fieldset titles, each field shown."""
    labels = []
    fieldsets = model_admin.get_fieldsets(request, obj)
    if isinstance(model_admin, admin.options.InlineModelAdmin):
        form = model_admin.get_formset(request, obj).form
    else:
        form = model_admin.get_form(request, obj, fields=flatten_fieldsets(fieldsets))
    readonly = set(model_admin.get_readonly_fields(request, obj))
    for title, _options in fieldsets:
        if title:
            labels.append((f"{where}: nhóm trường", title))
    for name in flatten_fieldsets(fieldsets):
        field = _field(model_admin.model, name)
        if field is not None:
            labels += _field_labels(f"{where}: {name}", field)
        elif name in readonly:
            labels.append((f"{where}: {name}", label_for_field(name, model_admin.model,
                                                               model_admin)))
        else:  # a form field of the admin's own form (passwords, for instance)
            form_field = form().fields[name]
            labels.append((f"{where}: {name}", form_field.label))
            if form_field.help_text:
                labels.append((f"{where}: {name} (hướng dẫn)", form_field.help_text))
    return labels


def admin_labels(model_admin, request) -> list[tuple[str, str]]:
    """Every (where, label) pair the admin shows for one model admin."""
    model = model_admin.model
    opts = model._meta
    where = opts.label
    labels = [
        (f"{where}: tên ứng dụng", apps.get_app_config(opts.app_label).verbose_name),
        (f"{where}: tên", opts.verbose_name),
        (f"{where}: tên số nhiều", opts.verbose_name_plural),
    ]
    for name in model_admin.get_list_display(request):
        labels.append((f"{where}: cột {name}",
                       label_for_field(name, model, model_admin)))
        field = _field(model, name) if isinstance(name, str) else None
        if field is not None:
            labels += _field_labels(f"{where}: cột {name}", field)
    for entry in model_admin.get_list_filter(request):
        if isinstance(entry, str | tuple):
            name = entry[0] if isinstance(entry, tuple) else entry
            if isinstance(name, str):
                target = model
                for part in name.split("__"):
                    field = target._meta.get_field(part)
                    target = field.related_model or target
                labels += _field_labels(f"{where}: bộ lọc {name}", field)
        else:
            labels.append((f"{where}: bộ lọc", entry.title))
    for _func, name, description in model_admin.get_actions(request).values():
        labels.append((f"{where}: thao tác {name}", description % {
            "verbose_name_plural": opts.verbose_name_plural}))
    labels += _form_labels(model_admin, request, None, f"{where} thêm")
    labels += _form_labels(model_admin, request, model(), f"{where} sửa")
    for inline in model_admin.get_inline_instances(request):
        inline_opts = inline.model._meta
        labels += [
            (f"{where}: bảng con", inline_opts.verbose_name),
            (f"{where}: bảng con", inline_opts.verbose_name_plural),
        ]
        labels += _form_labels(inline, request, None, f"{where}: bảng con {inline_opts.label}")
    return labels


def english_labels(model_admin, request) -> list[str]:
    with translation.override("vi"):
        return [f"{where}: {label}" for where, label in admin_labels(model_admin, request)
                if is_english(label)]


@pytest.fixture
def admin_request(db):
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("quantri", "quantri@example.vn", "mat-khau-2025")
    return request


def test_every_admin_label_is_vietnamese(admin_request):
    checked = [ma for model, ma in admin.site._registry.items()
               if model._meta.app_label not in PENDING_APPS]
    problems = [label for ma in checked for label in english_labels(ma, admin_request)]

    assert len(checked) >= 9  # users, groups, the catalog, the outbox, the code tables
    assert problems == []


def test_the_check_catches_an_english_column_and_an_english_action(admin_request):
    class EnglishAdmin(OutboundMessageAdmin):
        list_display = [*OutboundMessageAdmin.list_display, "last_try"]

        @admin.display(description="Last try")
        def last_try(self, obj):
            return obj.last_attempt_at

        @admin.action(description="Send again")
        def redrive(self, request, queryset):
            return None

    problems = english_labels(EnglishAdmin(OutboundMessage, admin.site), admin_request)

    assert any(p.endswith(": Last try") for p in problems)
    assert any(p.endswith(": Send again") for p in problems)
    assert len(problems) == 2


def test_the_check_catches_an_english_field_label_help_text_and_choice(
    admin_request, monkeypatch
):
    model_admin = admin.site._registry[Procedure]
    assert english_labels(model_admin, admin_request) == []
    fee_due = Procedure._meta.get_field("fee_due")
    monkeypatch.setattr(Procedure._meta.get_field("duration_kind"), "verbose_name",
                        "duration kind")
    monkeypatch.setattr(Procedure._meta.get_field("source"), "help_text", "Where it comes from.")
    monkeypatch.setattr(fee_due, "choices", [*fee_due.choices[:-1], ("exempt", "Exempt")])

    problems = english_labels(model_admin, admin_request)

    assert any(p.endswith(": duration kind") for p in problems)
    assert any(p.endswith(": Where it comes from.") for p in problems)
    assert any(p.endswith(": Exempt") for p in problems)  # a column, a filter and the form


@pytest.mark.parametrize("label", ["mã TTHC quốc gia", "ID", "URL", "Mã HMAC", "CCCD", "SHA-256"])
def test_vietnamese_labels_and_codes_pass(label):
    assert not is_english(label)


@pytest.mark.parametrize("label", ["kind", "Duration kind", "agency", "created at", "ID card"])
def test_english_labels_fail(label):
    assert is_english(label)


def test_the_admin_site_is_titled_in_vietnamese(admin_client):
    response = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="vi")

    assert admin.site.site_header == "Quản trị Một Cửa"
    assert admin.site.site_title == "Quản trị Một Cửa"
    assert not is_english(admin.site.index_title)
    page = response.content.decode()
    assert "Quản trị Một Cửa" in page
    assert "Hồ sơ thủ tục hành chính" in page


def test_procedure_changelist_names_the_assumed_values_by_their_labels(admin_client):
    from tests.dossiers.factories import ProcedureFactory

    ProcedureFactory(name="Thủ tục giả định", demo_assumptions=["fee_vnd", "components"])

    response = admin_client.get(reverse("admin:dossiers_procedure_changelist"),
                                HTTP_ACCEPT_LANGUAGE="vi")

    page = response.content.decode()
    assert '<td class="field-demo_values">phí, lệ phí (đồng), thành phần hồ sơ</td>' in page
    assert "fee_vnd," not in page

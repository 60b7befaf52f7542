"""Form-schema errors in Vietnamese: each JSON Schema keyword that fails becomes a sentence
naming the field by its schema title, pointed at the field it is about."""

import re
from collections.abc import Iterable, Sequence
from types import SimpleNamespace

from django.utils.translation import gettext as _

# The words for a JSON Schema type in "«X» phải là …".
_TYPE_WORDS = {
    "integer": lambda: _("số nguyên"),
    "number": lambda: _("số"),
    "string": lambda: _("chuỗi ký tự"),
    "boolean": lambda: _("giá trị có hoặc không"),
    "array": lambda: _("danh sách"),
    "object": lambda: _("một nhóm trường (đối tượng)"),
    "null": lambda: _("giá trị rỗng"),
}


def _number(value) -> str:
    """12.5 -> "12,5"; 1000000 -> "1000000" (no grouping: it would read as decimals)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


def _subschema(schema: dict, path: Sequence) -> dict | None:
    """The schema that describes the value at `path` (properties and items only)."""
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            items = node.get("items")
            node = items if isinstance(items, dict) else None
        else:
            node = (node.get("properties") or {}).get(part)
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def field_label(schema: dict, path: Sequence) -> str:
    """The title of the field at `path` (its key when the schema gives no title); a list item
    is named by its list and its number."""
    path = list(path)
    items = []
    while path and isinstance(path[-1], int):
        items.insert(0, path.pop() + 1)
    if not path:
        label = _("Tờ khai")
    else:
        node = _subschema(schema, path)
        label = str(node["title"]) if node and node.get("title") else str(path[-1])
    for number in items:
        label = _("%(field)s, mục %(number)s") % {"field": label, "number": number}
    return label


def _required_property(error) -> str | None:
    """The missing property a `required` error is about (jsonschema yields one per property)."""
    for name in error.validator_value or ():
        if isinstance(error.instance, dict) and name not in error.instance and (
            error.message == f"{name!r} is a required property"
        ):
            return name
    return None


def _extra_properties(error) -> list[str]:
    known = set((error.schema.get("properties") or {}).keys())
    patterns = error.schema.get("patternProperties") or {}
    if not isinstance(error.instance, dict):
        return []
    return [
        str(name) for name in error.instance
        if name not in known and not any(re.search(p, str(name)) for p in patterns)
    ]


def _format_message(fmt: str, label: str) -> str:
    if fmt == "email" or fmt == "idn-email":
        return _("«%(field)s» không đúng định dạng thư điện tử.") % {"field": label}
    if fmt == "date":
        return _("«%(field)s» không phải là một ngày hợp lệ (năm-tháng-ngày, ví dụ 2025-03-31).") % {
            "field": label}
    if fmt == "date-time":
        return _("«%(field)s» không phải là thời điểm hợp lệ.") % {"field": label}
    if fmt in ("uri", "iri", "uri-reference"):
        return _("«%(field)s» không phải là địa chỉ web hợp lệ.") % {"field": label}
    return _("«%(field)s» không đúng định dạng %(format)s.") % {"field": label, "format": fmt}


def _message(error, schema: dict, path: list) -> str:
    kind, value = error.validator, error.validator_value
    label = field_label(schema, path)
    args = {"field": label}
    if kind == "required":
        return _("Trường «%(field)s» là bắt buộc.") % args
    if kind == "type":
        if not path and value == "object":
            return _("Dữ liệu tờ khai phải là một đối tượng JSON (các cặp tên trường – giá trị).")
        kinds = [value] if isinstance(value, str) else list(value)
        words = [_TYPE_WORDS[k]() for k in kinds if k in _TYPE_WORDS] or [str(value)]
        return _("«%(field)s» phải là %(kind)s.") % {**args, "kind": _(" hoặc ").join(words)}
    if kind == "minLength":
        if value == 1:
            return _("Trường «%(field)s» không được để trống.") % args
        return _("«%(field)s» phải có ít nhất %(n)s ký tự.") % {**args, "n": value}
    if kind == "maxLength":
        return _("«%(field)s» chỉ được có tối đa %(n)s ký tự.") % {**args, "n": value}
    if kind == "pattern":
        return _("«%(field)s» không đúng định dạng.") % args
    if kind == "format":
        return _format_message(str(value), label)
    if kind == "minimum":
        return _("«%(field)s» phải lớn hơn hoặc bằng %(n)s.") % {**args, "n": _number(value)}
    if kind == "maximum":
        return _("«%(field)s» phải nhỏ hơn hoặc bằng %(n)s.") % {**args, "n": _number(value)}
    if kind == "exclusiveMinimum":
        return _("«%(field)s» phải lớn hơn %(n)s.") % {**args, "n": _number(value)}
    if kind == "exclusiveMaximum":
        return _("«%(field)s» phải nhỏ hơn %(n)s.") % {**args, "n": _number(value)}
    if kind == "multipleOf":
        return _("«%(field)s» phải là bội số của %(n)s.") % {**args, "n": _number(value)}
    if kind == "enum":
        choices = "; ".join(str(v) for v in value)
        return _("«%(field)s» phải là một trong các giá trị: %(choices)s.") % {
            **args, "choices": choices}
    if kind == "const":
        return _("«%(field)s» phải có giá trị %(value)s.") % {**args, "value": value}
    if kind == "additionalProperties":
        names = ", ".join(f"«{n}»" for n in _extra_properties(error)) or "?"
        return _("Biểu mẫu không có trường %(names)s.") % {"names": names}
    if kind == "minItems":
        if value == 1:
            return _("«%(field)s» phải có ít nhất một mục.") % args
        return _("«%(field)s» phải có ít nhất %(n)s mục.") % {**args, "n": value}
    if kind == "maxItems":
        return _("«%(field)s» chỉ được có tối đa %(n)s mục.") % {**args, "n": value}
    if kind == "uniqueItems":
        return _("Các mục của «%(field)s» không được trùng nhau.") % args
    return _("«%(field)s» không hợp lệ.") % args


def form_error_describe(error, schema: dict) -> dict:
    """One jsonschema error as {"field", "code", "message"}: `field` is the path of the value
    it is about ("a/0"; a missing required field is named by its own path), `code` the JSON
    Schema keyword that failed, `message` a Vietnamese sentence."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = _required_property(error)
        if missing is not None:
            path.append(missing)
    return {
        "field": "/".join(str(p) for p in path),
        "code": str(error.validator),
        "message": _message(error, schema, path),
    }


def form_errors_describe(errors: Iterable, schema: dict) -> list[dict]:
    """Every error described, sorted by field and message (the same answer whatever order the
    data's keys come in: PostgreSQL's jsonb does not keep the order they were written in)."""
    return sorted(
        (form_error_describe(error, schema) for error in errors),
        key=lambda e: (e["field"], e["message"]),
    )


def form_keyword_message(*, schema: dict, path: Sequence, keyword: str, value) -> str:
    """The message a failing `keyword` (with its schema value) gives for the field at `path`:
    the same words a page shows before sending, as the server does after."""
    error = SimpleNamespace(validator=keyword, validator_value=value, instance=None, schema={})
    return _message(error, schema, list(path))

"""A procedure's form schema (JSON Schema) as a Django form.

The browser gets the schema's checks as HTML attributes (required, pattern, minlength,
maxlength, min, max, type) with the server's own Vietnamese sentence for each in a data-msg-*
attribute; the server checks the data with the model's schema validation only
(`Procedure.form_errors`), so the page and the API say the same thing. The fields themselves
only turn what was typed into JSON values: anything that does not convert is passed on as typed,
for the schema to name the problem.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from dossiers.models import form_properties
from dossiers.services.form_errors import form_keyword_message

# The keywords the browser checks, and the HTML attribute that carries each.
_STRING_ATTRS = (("minLength", "minlength"), ("maxLength", "maxlength"))


def _number(text: str):
    """ "12,5" or "12.5" -> 12.5, "7" -> 7; None when it is not a number."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _html_number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class SchemaForm(forms.Form):
    """Fields from `schema["properties"]`, in their order; `schema_data()` gives the JSON."""

    def __init__(self, *args, schema: dict, **kwargs) -> None:
        self.schema = schema or {}
        self.kinds: dict[str, str] = {}
        initial = dict(kwargs.pop("initial", None) or {})
        super().__init__(*args, **kwargs)
        required = set(self.schema.get("required") or ())
        for name, spec in form_properties(self.schema):
            if not isinstance(spec, dict):
                continue
            field, kind = self._field(name, spec, name in required)
            self.fields[name] = field
            self.kinds[name] = kind
            if name in initial:
                self.initial[name] = self._initial(kind, initial[name])

    # --- building -------------------------------------------------------------------------

    def _msg(self, name: str, keyword: str, value) -> str:
        return form_keyword_message(schema=self.schema, path=[name], keyword=keyword, value=value)

    def _field(self, name: str, spec: dict, required: bool):
        label = spec.get("title") or name
        help_text = spec.get("description") or ""
        if help_text == label:
            help_text = ""
        attrs: dict = {}
        if required:
            attrs["required"] = True
            attrs["data-msg-required"] = self._msg(name, "required", None)
        kind = spec.get("type")
        if "enum" in spec:
            choices = [("", _("— Chọn —"))] + [(str(v), str(v)) for v in spec["enum"]]
            # A plain text field: a value outside the list reaches the schema, which names it.
            field = forms.CharField(widget=forms.Select(attrs=attrs, choices=choices))
            kind = "enum"
        elif kind == "boolean":
            attrs.pop("required", None)  # an unticked box is an answer too ("no")
            attrs.pop("data-msg-required", None)
            field = forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs))
        elif kind in ("integer", "number"):
            attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
            attrs["step"] = "1" if kind == "integer" else "any"
            attrs["data-msg-type"] = self._msg(name, "type", kind)
            self._number_bounds(name, spec, kind, attrs)
            field = forms.CharField(widget=forms.NumberInput(attrs=attrs))
        elif kind == "array":
            attrs["rows"] = 4
            field = forms.CharField(widget=forms.Textarea(attrs=attrs))
            help_text = " ".join(t for t in (str(help_text), str(_("Mỗi dòng một mục."))) if t)
        else:
            fmt = spec.get("format")
            input_type = {"date": "date", "email": "email", "date-time": "datetime-local",
                          "uri": "url"}.get(fmt, "text")
            if fmt:
                attrs["data-msg-format"] = self._msg(name, "format", fmt)
            for keyword, attr in _STRING_ATTRS:
                if keyword in spec:
                    attrs[attr] = spec[keyword]
                    attrs[f"data-msg-{attr}"] = self._msg(name, keyword, spec[keyword])
            if "pattern" in spec:
                attrs["pattern"] = spec["pattern"]
                attrs["data-msg-pattern"] = self._msg(name, "pattern", spec["pattern"])
            if input_type == "text" and spec.get("maxLength", 0) > 255:
                widget = forms.Textarea(attrs={**attrs, "rows": 4})
            else:
                widget = forms.TextInput(attrs={**attrs, "type": input_type})
            field = forms.CharField(widget=widget, strip=True)
            kind = f"string:{fmt}" if fmt else "string"
        field.required = False  # the schema decides, on the server, through the model
        field.label = label
        field.help_text = help_text
        return field, kind

    def _number_bounds(self, name: str, spec: dict, kind: str, attrs: dict) -> None:
        low = [(spec["minimum"], "minimum")] if "minimum" in spec else []
        if "exclusiveMinimum" in spec:
            # The browser has no exclusive bound: an integer moves up by one; a number keeps
            # the bound, and the server refuses the bound itself.
            bound = spec["exclusiveMinimum"]
            low.append((bound + 1 if kind == "integer" else bound, "exclusiveMinimum"))
        high = [(spec["maximum"], "maximum")] if "maximum" in spec else []
        if "exclusiveMaximum" in spec:
            bound = spec["exclusiveMaximum"]
            high.append((bound - 1 if kind == "integer" else bound, "exclusiveMaximum"))
        if low:
            value, keyword = max(low)
            attrs["min"] = _html_number(value)
            attrs["data-msg-min"] = self._msg(name, keyword, spec[keyword])
        if high:
            value, keyword = min(high)
            attrs["max"] = _html_number(value)
            attrs["data-msg-max"] = self._msg(name, keyword, spec[keyword])

    @staticmethod
    def _initial(kind: str, value):
        if kind == "array" and isinstance(value, list):
            return "\n".join(str(v) for v in value)
        if kind == "boolean":
            return bool(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value

    # --- reading --------------------------------------------------------------------------

    def schema_data(self) -> dict:
        """What was typed, as the JSON the schema describes; empty fields are left out (a
        required one then reads as missing)."""
        data = {}
        for name, kind in self.kinds.items():
            raw = self.cleaned_data.get(name)
            if kind == "boolean":
                data[name] = bool(raw)
                continue
            if raw in (None, ""):
                continue
            if kind in ("integer", "number"):
                number = _number(str(raw))
                data[name] = number if number is not None else str(raw)
            elif kind == "enum":
                choices = (self.schema["properties"][name].get("enum") or ())
                data[name] = next((v for v in choices if str(v) == str(raw)), str(raw))
            elif kind == "array":
                items = [line.strip() for line in str(raw).splitlines() if line.strip()]
                if items:
                    data[name] = items
            else:
                data[name] = str(raw)
        return data

    def add_schema_errors(self, errors: list[dict]) -> None:
        """The model's errors next to their fields; any other error goes on top of the form."""
        for error in errors:
            name = (error.get("field") or "").split("/", 1)[0]
            if name in self.fields:
                self.add_error(name, error["message"])
            else:
                self.add_error(None, error["message"])

    def mark_invalid(self) -> None:
        """aria-invalid and aria-describedby on every field (its help and its error)."""
        for name, field in self.fields.items():
            bound = self[name]
            described = []
            if field.help_text:
                described.append(f"{bound.auto_id}-help")
            if bound.errors:
                described.append(f"{bound.auto_id}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)

"""Shared kernel models: the user account, the timestamp base and the batched constraint check."""

import logging
import operator
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE
from django.utils.translation import gettext_lazy as _

from .roles import Role

log = logging.getLogger(__name__)


class ConstraintsCheckedAtOnce:
    """A model mixin: `full_clean` asks the database about every check constraint (and the
    condition of every conditional unique constraint) in one query, where Django asks once
    per constraint, each in its own savepoint; the errors raised are Django's own, in the
    same order. A conditional unique constraint whose condition does not hold for the row
    cannot be broken by it and is skipped; the others are validated by Django as usual."""

    def validate_constraints(self, exclude=None):
        using = router.db_for_write(self.__class__, instance=self)
        features = connections[using].features
        if not (features.supports_comparing_boolean_expr
                and features.supports_boolean_expr_in_select_clause):
            return super().validate_constraints(exclude=exclude)
        constraints = self.get_constraints()
        answers = self._constraint_answers(constraints, exclude=exclude, using=using)
        if answers is None:  # the database could not answer at once: one by one, as Django
            return super().validate_constraints(exclude=exclude)
        errors = {}
        for model_class, model_constraints in constraints:
            for constraint in model_constraints:
                try:
                    self._constraint_validate(model_class, constraint, answers, exclude, using)
                except ValidationError as e:
                    if getattr(e, "code", None) == "unique" and len(constraint.fields) == 1:
                        errors.setdefault(constraint.fields[0], []).append(e)
                    else:
                        errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _constraint_validate(self, model_class, constraint, answers, exclude, using) -> None:
        if isinstance(constraint, models.CheckConstraint):
            if id(constraint) in answers and not answers[id(constraint)]:
                raise ValidationError(constraint.get_violation_error_message(),
                                      code=constraint.violation_error_code)
            return  # it holds, or names an excluded field (Django skips those too)
        answer = answers.get(id(constraint))
        if answer is not None and not answer:
            return  # a conditional unique constraint that does not apply to this row
        if answer and constraint.fields and not constraint.expressions:
            self._unique_where_validate(model_class, constraint, exclude, using)
            return
        constraint.validate(model_class, self, exclude=exclude, using=using)

    def _unique_where_validate(self, model_class, constraint, exclude, using) -> None:
        """A conditional unique constraint over fields whose condition holds for this row, as
        Django's `UniqueConstraint.validate` checks it: is there another row with the same
        values that meets the condition? Django asks the database that together with the
        condition again, rebuilt over every field of the row (most of a payment's check)."""
        lookup = {}
        for name in constraint.fields:
            if exclude and name in exclude:
                return
            field = model_class._meta.get_field(name)
            if field.generated:
                constraint.validate(model_class, self, exclude=exclude, using=using)
                return
            value = getattr(self, field.attname)
            if (constraint.nulls_distinct is not False and value is None) or (
                    value == "" and connections[using].features.interprets_empty_strings_as_nulls):
                return  # NULL equals nothing in SQL: no other row can clash
            lookup[field.name] = value
        others = model_class._default_manager.using(using).filter(constraint.condition, **lookup)
        if not self._state.adding and self._is_pk_set(model_class._meta):
            others = others.exclude(pk=self._get_pk_val(model_class._meta))
        try:
            clash = others.exists()
        except FieldError:
            return  # as Django: a condition it cannot ask about is not checked here
        if clash:
            raise ValidationError(constraint.get_violation_error_message(),
                                  code=constraint.violation_error_code)

    def _constraint_answers(self, constraints, *, exclude, using) -> dict[int, object] | None:
        """Each check constraint's verdict (NULL counts as met, as in Django's check) and each
        conditional unique constraint's raw condition, by the constraint's id; None when the
        query failed. Conditions made only of plain comparisons of the row's own fields are
        answered here, as SQL would answer them; any other sends every one to the database."""
        answered = _answers_in_python(self, constraints, exclude=exclude, using=using)
        if answered is not None:
            return answered
        query = Query(None)
        against = self._get_field_expression_map(meta=self._meta, exclude=exclude)
        for name, value in against.items():
            if not hasattr(value, "resolve_expression"):
                value = Value(value)
            query.add_annotation(value, name, select=False)
        asked = []
        for _model_class, model_constraints in constraints:
            for constraint in model_constraints:
                if isinstance(constraint, models.CheckConstraint):
                    expression = Coalesce(Q(constraint.condition), True,
                                          output_field=BooleanField())
                elif isinstance(constraint, models.UniqueConstraint) and constraint.condition:
                    expression = ExpressionWrapper(Q(constraint.condition),
                                                   output_field=BooleanField())
                else:
                    continue
                try:
                    query.add_annotation(expression, f"_constraint_{len(asked)}")
                except FieldError:
                    continue  # it names an excluded field
                asked.append(constraint)
        if not asked:
            return {}
        connection = connections[using]
        atomic = transaction.atomic(using=using) if connection.in_atomic_block else None
        try:
            if atomic is None:
                row = query.get_compiler(using=using).execute_sql(SINGLE)
            else:
                with atomic:
                    row = query.get_compiler(using=using).execute_sql(SINGLE)
        except DatabaseError as e:
            log.warning("constraints of %r not checked at once: %s", self, e)
            return None
        return {id(constraint): value for constraint, value in zip(asked, row, strict=True)}


class _NotPlain(Exception):
    """A condition this module does not answer itself: the database does."""


# The comparisons answered here. Order comparisons only between numbers, dates and times: the
# database orders text by its collation, which Python does not know.
_ORDERED = (int, float, Decimal, date, datetime, time)
_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_LOOKUPS = frozenset({"exact", "in", "isnull", *_COMPARE})
# The databases whose text equality is byte for byte, as Python's is.
_PLAIN_VENDORS = frozenset({"sqlite", "postgresql"})


def _row_value(instance, field_name: str, exclude):
    meta = instance._meta
    try:
        field = meta.get_field(field_name)
    except FieldDoesNotExist as exc:
        raise _NotPlain() from exc
    if (exclude and field.name in exclude) or getattr(field, "generated", False) or (
            field.model is not meta.concrete_model or not field.concrete):
        raise _NotPlain()
    return field, getattr(instance, field.attname)


def _plain_value(field, value):
    """The value as the database would compare it: prepared by its field, a choice as its
    value."""
    try:
        value = field.get_prep_value(value)
    except (TypeError, ValueError, ValidationError) as exc:
        raise _NotPlain() from exc  # the database says what it makes of it
    return value.value if isinstance(value, Enum) else value


def _same_kind(mine, theirs) -> bool:
    """Values Python compares as the database does: of one type, or a whole number against
    a float or a decimal (a float against a decimal is not: its binary value is exact)."""
    if isinstance(mine, bool) or isinstance(theirs, bool):
        return isinstance(mine, bool) and isinstance(theirs, bool)
    if type(mine) is type(theirs):
        return True
    return (type(mine) is int and isinstance(theirs, (float, Decimal))) or (
        type(theirs) is int and isinstance(mine, (float, Decimal)))


def _lookup_answer(instance, lookup: str, rhs, exclude):
    """One `field__lookup=value` of a condition on the row: True, False or None (unknown,
    SQL's NULL)."""
    name, _, kind = lookup.partition("__")
    kind = kind or "exact"
    if kind not in _LOOKUPS or hasattr(rhs, "resolve_expression"):
        raise _NotPlain()  # another lookup, a related field's or a computed value
    field, value = _row_value(instance, name, exclude)
    if field.is_relation and kind != "isnull":
        raise _NotPlain()
    if kind == "isnull" or (kind == "exact" and rhs is None):
        wanted = True if kind == "exact" else rhs
        if not isinstance(wanted, bool):
            raise _NotPlain()
        return (value is None) == wanted
    if value is None:
        return None
    mine = _plain_value(field, value)
    if kind in ("exact", "in"):
        wanted = [_plain_value(field, item) for item in (rhs if kind == "in" else [rhs])]
        if not wanted or not all(item is not None and _same_kind(mine, item) for item in wanted):
            raise _NotPlain()
        return mine in wanted
    if kind in _COMPARE:
        theirs = _plain_value(field, rhs)
        if not (isinstance(mine, _ORDERED) and isinstance(theirs, _ORDERED)) or isinstance(
                mine, bool) or isinstance(theirs, bool):
            raise _NotPlain()
        try:
            return _COMPARE[kind](mine, theirs)
        except TypeError as exc:  # a naive against an aware time, a date against a time
            raise _NotPlain() from exc
    raise _NotPlain()


def _condition_answer(instance, condition: Q, exclude):
    """A Q of plain comparisons on the row, in SQL's three-valued logic."""
    answers = []
    for child in condition.children:
        if isinstance(child, Q):
            answers.append(_condition_answer(instance, child, exclude))
        elif isinstance(child, tuple) and len(child) == 2 and isinstance(child[0], str):
            answers.append(_lookup_answer(instance, child[0], child[1], exclude))
        else:
            raise _NotPlain()
    if condition.connector == Q.AND:
        answer = False if False in answers else (None if None in answers else True)
    elif condition.connector == Q.OR:
        answer = True if True in answers else (None if None in answers else False)
    else:
        raise _NotPlain()
    return answer if answer is None or not condition.negated else not answer


def _answers_in_python(instance, constraints, *, exclude, using) -> dict[int, object] | None:
    """What the one query would answer, when every condition is plain; else None."""
    if connections[using].vendor not in _PLAIN_VENDORS:
        return None
    answers: dict[int, object] = {}
    for _model_class, model_constraints in constraints:
        for constraint in model_constraints:
            checked = isinstance(constraint, models.CheckConstraint) or (
                isinstance(constraint, models.UniqueConstraint) and constraint.condition)
            if not checked:
                continue
            condition = constraint.condition
            if not isinstance(condition, Q):
                return None
            try:
                answer = _condition_answer(instance, condition, exclude)
            except _NotPlain:
                if _names_excluded(instance, condition, exclude):
                    continue  # the database would not be asked about it either
                return None
            if isinstance(constraint, models.CheckConstraint):
                answer = True if answer is None else answer  # NULL counts as met
            answers[id(constraint)] = answer
    return answers


def _names_excluded(instance, condition: Q, exclude) -> bool:
    if not exclude:
        return False
    for child in condition.children:
        if isinstance(child, Q):
            if _names_excluded(instance, child, exclude):
                return True
        elif isinstance(child, tuple) and isinstance(child[0], str):
            name = child[0].partition("__")[0]
            try:
                if instance._meta.get_field(name).name in exclude:
                    return True
            except FieldDoesNotExist:
                continue
    return False


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)
    updated_at = models.DateTimeField(_("cập nhật lúc"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("Cá nhân")
        BUSINESS = "business", _("Tổ chức, doanh nghiệp")
        STAFF = "staff", _("Cán bộ, công chức")

    full_name = models.CharField(_("họ và tên / tên tổ chức"), max_length=255, blank=True)
    kind = models.CharField(
        _("loại tài khoản"), max_length=16, choices=Kind.choices, default=Kind.CITIZEN
    )
    tax_code = models.CharField(_("mã số thuế"), max_length=14, blank=True)
    citizen_id = models.CharField(_("số CCCD"), max_length=12, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=20, blank=True)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    # An officer's title as the portals print it (ChucDanh), e.g. "Chuyên viên".
    title = models.CharField(_("chức danh"), max_length=128, blank=True)
    # Officers belong to one agency; the code keeps the kernel free of the dossiers app.
    agency_code = models.CharField(_("mã cơ quan"), max_length=32, blank=True, db_index=True)
    # A specialist's unit (phòng chuyên môn) within that agency, by its code, for the same reason.
    unit_code = models.CharField(
        _("mã phòng chuyên môn"), max_length=32, blank=True,
        help_text=_("Mã phòng chuyên môn của cán bộ trong cơ quan; để trống nếu không thuộc phòng nào."),
    )

    class Meta:
        verbose_name = _("người dùng")
        verbose_name_plural = _("người dùng")

    @property
    def roles(self) -> frozenset[str]:
        if not hasattr(self, "_roles_cache"):
            names = set(self.groups.values_list("name", flat=True)) if self.pk else set()
            if self.is_superuser:
                names.add(Role.ADMIN)
            self._roles_cache = frozenset(names)
        return self._roles_cache

    def get_session_auth_hash(self) -> str:
        # The signed-in account's cached copy (portal.accounts) carries this hash, not the
        # password's: the password is then a deferred field, read from the database only if
        # something reads it (and saving that copy leaves it as it is).
        if "password" not in self.__dict__ and self.__dict__.get("_session_auth_hash"):
            return self.__dict__["_session_auth_hash"]
        return super().get_session_auth_hash()

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_officer(self) -> bool:
        return self.has_role(*Role.OFFICERS)

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

"""Parameters of the use cases: frozen dataclasses whose construction is the validation.

A rule such as "plans start on a Monday" or "the tolerance is 0.5 to 50 %" is written once, on
the parameters object. The CLI builds it from typed options (:func:`labelled` names the
options in the problems), the web from form or JSON text (:meth:`Params.from_text`, which also
reports text that is not a number); either way every problem comes in one
:class:`~routeplanner.errors.InputError`, which each entry point shows in its own format.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
from collections.abc import Iterator, Mapping, Sized
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

from routeplanner.errors import InputError, Problem

PARAMETERS = "parameters"
"""The source of a problem found on construction, before an entry point names its own."""
_LIMIT = "limit"


@dataclasses.dataclass(frozen=True, slots=True)
class Limit:
    """An inclusive numeric range; NaN and infinities are outside every range."""

    low: float
    high: float

    def check(self, value: float, shown: str | None = None) -> str | None:
        if math.isfinite(value) and self.low <= value <= self.high:
            return None
        return f"must be {_num(self.low)} to {_num(self.high)}, got {shown or value}"


def limited(default: Any, low: float, high: float) -> Any:
    """A dataclass field holding a number within ``low..high`` (or ``None``, when allowed)."""
    return dataclasses.field(default=default, metadata={_LIMIT: Limit(low, high)})


FieldProblem = tuple[str, str]
"""(field, message) of a parameters object, before an entry point names its source."""


class Params:
    """Base of every parameters object: checks each field's :func:`limited` range and the
    class's own :meth:`rules` on construction, reporting every problem at once."""

    __slots__ = ()
    TEXT_NAMES: ClassVar[Mapping[str, str]] = {}
    """Form or JSON names that differ from the field's (for :meth:`from_text`)."""

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        found = type(self).problems(values)
        if found:
            raise InputError([Problem(PARAMETERS, None, f, m) for f, m in found])

    @classmethod
    def problems(
        cls, values: Mapping[str, Any], shown: Mapping[str, str] | None = None
    ) -> list[FieldProblem]:
        """Every problem of ``values`` (all fields filled): ranges first, then the rules."""
        shown = shown or {}
        found = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            limit: Limit | None = f.metadata.get(_LIMIT)
            value = values.get(f.name)
            if limit is not None and isinstance(value, int | float):
                message = limit.check(float(value), shown.get(f.name) or str(value))
                if message is not None:
                    found.append((f.name, message))
        return found + cls.rules(values)

    @classmethod
    def rules(cls, values: Mapping[str, Any]) -> list[FieldProblem]:  # noqa: ARG003
        """Rules beyond the ranges (several fields, a weekday); none by default."""
        return []

    @classmethod
    def from_text(
        cls,
        texts: Mapping[str, str | None],
        *,
        source: str,
        names: Mapping[str, str] | None = None,
    ) -> Self:
        """Parse values given as text (a form, JSON, command-line options) by each field's
        type; empty means the default. Every problem (not a number, out of range, a rule)
        comes at once, each named by ``source`` and the field's name in ``texts``: ``names``
        (default :attr:`TEXT_NAMES`) maps fields to those names where they differ.

        Raises
        ------
        InputError
            Anything wrong with any value.
        """
        hints = get_type_hints(cls)
        to_text = {f: (cls.TEXT_NAMES if names is None else names).get(f, f) for f in hints}
        values = _defaults(cls)
        shown: dict[str, str] = {}
        problems: list[FieldProblem] = []
        for name in values:
            raw = texts.get(to_text[name])
            if raw is not None and _without_none(hints[name]) is str:
                values[name] = raw  # text fields as given: a password may end in a space
                continue
            text = (raw or "").strip()
            if not text:
                continue
            value, error = _parse(text, hints[name])
            if error:
                problems.append((name, error))
            else:
                values[name], shown[name] = value, text
        failed = {f for f, _ in problems}
        problems += [p for p in cls.problems(values, shown) if p[0] not in failed]
        if problems:
            raise InputError([Problem(source, None, to_text.get(f, f), m) for f, m in problems])
        return cls(**values)


@contextmanager
def labelled(source: str, names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Name the problems of parameters built inside as an entry point shows them: the CLI
    passes ``"command line"`` and its option names (``{"value_weight": "--value-weight"}``)."""
    try:
        yield
    except InputError as exc:
        names = names or {}
        renamed = [
            Problem(source, p.row, names.get(p.field or "", p.field), p.message)
            if p.source == PARAMETERS
            else p
            for p in exc.problems
        ]
        raise InputError(renamed) from None


def require_stored(**found: Sized) -> None:
    """Say what to import or design first when a use case finds nothing of ``accounts``,
    ``reps`` or ``territories`` stored (every empty one at once).

    Raises
    ------
    InputError
        One problem per empty collection, field = its name.
    """
    advice = {
        "accounts": "no accounts: import them first",
        "reps": "no reps: import them first",
        "territories": "no territories stored: design them first",
    }
    problems = [Problem("database", None, k, advice[k]) for k, v in found.items() if not v]
    if problems:
        raise InputError(problems)


def _defaults(cls: type[Params]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
        else:
            values[f.name] = None
    return values


def _parse(text: str, hint: Any) -> tuple[Any, str]:
    """``text`` as a value of type ``hint``, or an error message."""
    hint = _without_none(hint)
    if hint is bool:
        if text.lower() in ("1", "true", "on", "yes"):
            return True, ""
        if text.lower() in ("0", "false", "off", "no"):
            return False, ""
        return None, f"{text!r} is not yes or no"
    if hint is int or hint is float:
        return _number(text, whole=hint is int)
    if hint is date:
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            return None, f"{text!r} is not a date YYYY-MM-DD"
    choices: tuple[str, ...] = ()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        choices = tuple(str(m.value) for m in hint)
    elif get_origin(hint) is Literal:
        choices = tuple(str(a) for a in get_args(hint))
    if choices:
        if text not in choices:
            return None, f"must be {one_of(choices)}, not {text!r}"
        return (hint(text) if isinstance(hint, type) else text), ""
    return text, ""


def _number(text: str, *, whole: bool) -> tuple[float | int | None, str]:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None, f"{text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{text!r} is not a number"
    if whole:
        if not value.is_integer():
            return None, f"{text!r} is not a whole number"
        return int(value), ""
    return value, ""


def _without_none(hint: Any) -> Any:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def one_of(choices: tuple[str, ...] | list[str]) -> str:
    """``all or new``; ``one of home, centre, auto``."""
    if len(choices) == 2:
        return f"{choices[0]} or {choices[1]}"
    return "one of " + ", ".join(choices)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"

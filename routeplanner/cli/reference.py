"""Write the command-line and settings references (``docs/cli.md``, ``docs/settings.md``).

Both are generated from the code, so they cannot drift from it: the command tree of the Typer
app and the fields of :class:`~routeplanner.settings.Settings`. ``make docs`` runs
``python -m routeplanner.cli.reference``; ``--check`` only compares and exits 1 on a difference.
Nothing imports this module at run time.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import sys
import textwrap
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

import annotated_types
import typer
import typer.main
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from routeplanner.cli import _register, app
from routeplanner.settings import REPO_ROOT, Settings

WIDTH = 100
DOCS_DIR = REPO_ROOT / "docs"
PROGRAM = "routeplanner"
GENERATED = (
    "<!-- Generated from {source} by `make docs` (python -m routeplanner.cli.reference):\n"
    "     edit the source, not this file. tests/test_docs.py fails when the two differ. -->"
)


def _wrap(text: str, indent: str = "", first: str | None = None) -> str:
    """Wrap one paragraph at :data:`WIDTH` columns (``first`` prefixes its first line)."""
    return textwrap.fill(
        " ".join(text.split()),
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _markdown(text: str) -> str:
    """Docstring markup to Markdown: ``code`` (reStructuredText) becomes `code`."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    chunks = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return [_wrap(_markdown(chunk)) for chunk in chunks if chunk.strip()]


def _shown(value: object) -> str:
    """A default as a reader types it: paths relative to the checkout, numbers without ``.0``."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(_plain(value))
    text = str(value)
    return text.replace(f"{REPO_ROOT}/", "").replace(str(REPO_ROOT), ".")


def _plain(value: object) -> object:
    """Models, dicts and lists as JSON-ready data (floats without a needless ``.0``)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- command line -------------------------------------------------------------------------


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``; ``list[X]`` → ``X``."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (UnionType, typing.Union):
        members = [a for a in typing.get_args(annotation) if a is not NoneType]
        annotation = members[0] if len(members) == 1 else annotation
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _declared(callback: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    """Each parameter's type and its ``typer.Option``/``Argument`` info, from the signature.

    The click tree has names, help and defaults; types and ranges are read from the function,
    where they are the same in every Typer version.
    """
    function = inspect.unwrap(callback)
    hints = typing.get_type_hints(function, include_extras=True)
    declared: dict[str, tuple[Any, Any]] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        hint = hints.get(name, parameter.annotation)
        info = parameter.default
        if typing.get_origin(hint) is typing.Annotated:
            for extra in typing.get_args(hint)[1:]:
                if isinstance(extra, typer.models.ParameterInfo):
                    info = extra
        declared[name] = (_strip_optional(hint), info)
    return declared


_TYPE_NAMES = {str: "text", int: "integer", float: "number", Path: "path", bool: "flag"}


def _type_and_limits(annotation: Any, info: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in annotation)
    name = _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is not None and high is not None:
        return f"{name}, {_shown(low)} to {_shown(high)}"
    if low is not None:
        return f"{name}, at least {_shown(low)}"
    if high is not None:
        return f"{name}, at most {_shown(high)}"
    return name


def _option_line(param: Any, declared: dict[str, tuple[Any, Any]]) -> str:
    """One option or argument as a Markdown list item wrapped at :data:`WIDTH`."""
    annotation, info = declared.get(param.name, (str, None))
    is_argument = param.param_type_name == "argument"
    flag = bool(getattr(param, "is_flag", False))
    if is_argument:
        label = f"`{param.name.upper()}`"
    else:
        names = ", ".join(param.opts)
        if param.secondary_opts:
            names += " / " + ", ".join(param.secondary_opts)
        label = f"`{names}`"
    facts = [] if flag and not param.secondary_opts else [_type_and_limits(annotation, info)]
    if param.required:
        facts.append("required")
    if getattr(param, "multiple", False):
        facts.append("repeatable")
    if param.secondary_opts:
        facts.append(f"default `{param.opts[0] if param.default else param.secondary_opts[0]}`")
    elif not flag and param.default not in (None, "") and not param.required:
        facts.append(f"default `{_shown(param.default)}`")
    facts_text = f" ({'; '.join(facts)})" if facts else ""
    help_text = _markdown(getattr(param, "help", None) or "")
    return _wrap(f"{label}{facts_text}: {help_text}".rstrip(": "), indent="  ", first="- ")


def _commands(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``command``, depth first, subcommands in name order."""
    yield path, command
    children: dict[str, Any] = getattr(command, "commands", None) or {}
    for name in sorted(children):
        if not children[name].hidden:
            yield from _commands(children[name], (*path, name))


def command_paths() -> list[tuple[str, ...]]:
    """The word sequences of every command and group, e.g. ``("territories", "design")``."""
    _register()
    return [path for path, _command in _commands(typer.main.get_command(app), ())]


def _usage(path: tuple[str, ...], command: Any) -> str:
    words = [PROGRAM, *path]
    if any(p.param_type_name == "option" for p in command.params):
        words.append("[OPTIONS]")
    if getattr(command, "commands", None):
        words.append("COMMAND")
    for param in command.params:
        if param.param_type_name == "argument":
            name = param.name.upper()
            words.append(name if param.required else f"[{name}]")
    return " ".join(words)


def _command_section(path: tuple[str, ...], command: Any) -> list[str]:
    title = " ".join((PROGRAM, *path))
    lines = [f"## `{title}`", "", *_paragraphs(command.help)]
    lines += ["", "```text", _usage(path, command), "```"]
    children: dict[str, Any] = getattr(command, "commands", None) or {}
    if children:
        lines += ["", "Commands:", ""]
        for name in sorted(children):
            summary = _markdown(inspect.cleandoc(children[name].help or "").split("\n\n")[0])
            lines.append(_wrap(f"`{name}`: {summary}", indent="  ", first="- "))
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    callback = command.callback
    declared = _declared(callback) if callback is not None else {}
    for kind, heading in (("argument", "Arguments"), ("option", "Options")):
        chosen = [p for p in params if p.param_type_name == kind]
        if chosen:
            lines += ["", f"{heading}:", ""]
            lines += [_option_line(p, declared) for p in chosen]
    return [*lines, ""]


def cli_reference() -> str:
    """``docs/cli.md``: every command and subcommand with its help, arguments and options."""
    from routeplanner.cli import EXIT_INPUT, EXIT_INTERNAL, EXIT_ROADS

    _register()
    root = typer.main.get_command(app)
    intro = (
        "Every command below also takes `--help`. Errors print as `file:row: field: problem` "
        f"without a traceback (`{PROGRAM} --debug ...` shows it). Exit codes: `0` ok, "
        f"`{EXIT_INTERNAL}` internal error, `{EXIT_INPUT}` bad input, `{EXIT_ROADS}` road-network "
        "problem. Settings that options override are in [settings.md](settings.md); how the "
        "commands fit together is in [usage.md](usage.md)."
    )
    lines = [
        "# Command-line reference",
        "",
        GENERATED.format(source="routeplanner/cli"),
        "",
        _wrap(intro),
        "",
    ]
    for path, command in _commands(root, ()):
        lines += _command_section(path, command)
    return "\n".join(lines).rstrip() + "\n"


# --- settings ----------------------------------------------------------------------------


def _env_names(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper()]


def _limits(field: FieldInfo) -> list[str]:
    found = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Gt):
            found.append(f"more than {_shown(item.gt)}")
        elif isinstance(item, annotated_types.Ge):
            found.append(f"at least {_shown(item.ge)}")
        elif isinstance(item, annotated_types.Lt):
            found.append(f"less than {_shown(item.lt)}")
        elif isinstance(item, annotated_types.Le):
            found.append(f"at most {_shown(item.le)}")
    return found


def _setting_type(annotation: Any) -> str:
    optional = NoneType in typing.get_args(annotation)
    if typing.get_origin(annotation) is dict:
        return "JSON object"
    if typing.get_origin(annotation) is list:
        return "JSON list"
    base = _strip_optional(annotation)
    name = _TYPE_NAMES.get(base, getattr(base, "__name__", str(base)))
    if base is bool:
        name = "`true` or `false`"
    return f"{name}, or empty for none" if optional else name


def _nested_sections(name: str, field: FieldInfo, model: type[BaseModel]) -> list[str]:
    """A settings group: its own section, then one per part (``RP_GROUP__PART``)."""
    env = _env_names(name, field)[0]
    description = _markdown((field.description or "").strip())
    intro = (
        f"{description[:1].upper()}{description[1:]}. Each part below is its own variable; "
        f"`{env}` itself takes the whole group as JSON."
    )
    lines = [f"## `{env}`", "", _wrap(intro), ""]
    delimiter = str(Settings.model_config.get("env_nested_delimiter") or "__")
    for part, sub in model.model_fields.items():
        sub_env = f"{env}{delimiter}{part.upper()}"
        section = _setting_section(part, sub, env=sub_env)
        lines += ["#" + section[0], *section[1:]]
    return lines


def _setting_section(name: str, field: FieldInfo, *, env: str | None = None) -> list[str]:
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
        return _nested_sections(name, field, field.annotation)
    found, *aliases = _env_names(name, field) if env is None else [env]
    env = found
    default = _shown(field.get_default(call_default_factory=True))
    facts = [_setting_type(field.annotation), *_limits(field)]
    facts.append(f"default `{default}`" if default else "default empty")
    summary = "; ".join(facts) + "."
    summary = summary[:1].upper() + summary[1:]
    if aliases:
        summary = f"Also read as {', '.join(f'`{a}`' for a in aliases)}. " + summary
    description = (field.description or "").strip()
    description = description[:1].upper() + description[1:]
    if description and not description.endswith("."):
        description += "."
    return [f"## `{env}`", "", _wrap(summary), "", _wrap(_markdown(description)), ""]


def settings_reference() -> str:
    """``docs/settings.md``: every setting with its variable, type, default and description."""
    from routeplanner.services.users import DEMO_PASSWORD_ENV

    intro = (
        "Settings come from environment variables. A command's options (`--database-url`, "
        "`--host`, `--port`, `--osm`, ...; see [cli.md](cli.md)) override them for that run. "
        "Defaults that lie in the checkout are shown relative to it; the program uses "
        "absolute paths."
    )
    lines = [
        "# Settings reference",
        "",
        GENERATED.format(source="routeplanner/settings.py"),
        "",
        _wrap(intro),
        "",
    ]
    for name, field in Settings.model_fields.items():
        lines += _setting_section(name, field)
    demo = (
        f"Besides these, `{PROGRAM} demo` (what `make run` calls) reads `{DEMO_PASSWORD_ENV}`: "
        "the password of its `manager` login, set on the first run and reset to it on every "
        "later run while the variable is set (empty: a random password printed once)."
    )
    lines += ["## Other variables", "", _wrap(demo)]
    return "\n".join(lines).rstrip() + "\n"


REFERENCES: dict[str, Callable[[], str]] = {
    "cli.md": cli_reference,
    "settings.md": settings_reference,
}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every reference; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for file_name, generate in REFERENCES.items():
        target = DOCS_DIR / file_name
        text = generate()
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current == text:
            continue
        stale.append(target)
        if not check:
            target.write_text(text, encoding="utf-8")
    for target in stale:
        verb = "differs from the code; run `make docs`" if check else "written"
        sys.stderr.write(f"{target.relative_to(REPO_ROOT)} {verb}\n")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

"""The one rule for ids of accounts, reps, territories and assignment rules.

Ids end up in URL paths (``/accounts/<id>``), form actions, file names and calendar UIDs, so
they are restricted to letters, digits and ``_ . : @ + -``, starting with a letter, digit or
``_``: no slash, no dot-dot segment, no space, quote, ``?``, ``#`` or ``%``. Letters include
non-ASCII ones (``Müller-7``). Every URL built from an id still quotes it fully.
"""

from __future__ import annotations

import re

MAX_ID_LENGTH = 255
_SAFE_ID = re.compile(r"\w[\w.:@+\-]*")
ID_RULE = "letters, digits and _ . : @ + - only, starting with a letter, digit or _"


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id (a sentence for an import error), or ``None``."""
    if len(value) > MAX_ID_LENGTH:
        return f"{value[:40]!r}... is longer than {MAX_ID_LENGTH} characters"
    if not _SAFE_ID.fullmatch(value):
        return f"{value!r} is not a usable id: {ID_RULE}"
    return None

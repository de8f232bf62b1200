"""JSON text from outside: ``json.loads`` whose every failure is a :class:`json.JSONDecodeError`.

The standard parser recurses per nesting level, so ``[[[[...`` a few thousand deep raises
``RecursionError``, which callers catching ``JSONDecodeError`` would let through as a crash.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes) -> Any:
    """Parse JSON; nesting too deep for the parser is reported as a decode error."""
    try:
        return json.loads(text)
    except RecursionError:
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        msg = "nested too deeply"
        raise json.JSONDecodeError(msg, document, 0) from None

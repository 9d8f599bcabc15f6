"""Turning spec names into Python names."""

from __future__ import annotations

import keyword
import re

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|[0-9]+")

#: names for property keys that contain no letters at all
SYMBOL_NAMES = {"+1": "plus_one", "-1": "minus_one"}


def snake(name: str) -> str:
    """``list-for-repo`` -> ``list_for_repo``; ``enterprise-team`` -> ``enterprise_team``."""
    if name in SYMBOL_NAMES:
        return SYMBOL_NAMES[name]
    words = _WORD.findall(name)
    out = "_".join(w.lower() for w in words) or "field"
    if out[0].isdigit():
        out = "n" + out
    return safe_identifier(out)


def pascal(name: str) -> str:
    """``code-scanning`` -> ``CodeScanning``."""
    return "".join(w[:1].upper() + w[1:] for w in _WORD.findall(name))


def safe_identifier(name: str) -> str:
    """Append ``_`` to Python keywords and soft keywords that would break a signature."""
    if keyword.iskeyword(name) or name in ("self", "cls"):
        return name + "_"
    return name

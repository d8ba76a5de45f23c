"""TOML for show scripts, bindings files and model cards, on Python 3.10 and 3.11+ alike.

The standard library parses TOML from 3.11 (``tomllib``); on 3.10 the same parser is the
``tomli`` package. Every failure, including a document nested deep enough to exhaust
Python's recursion limit, is one :class:`TomlError` with the line it was found at.
"""

from __future__ import annotations

from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

MAX_TOML_BYTES = 1 << 20  # show scripts and cards are a few kB; a megabyte is not a show


class TomlError(ValueError):
    """Unparseable TOML; ``line`` is 1-based (1 when the parser could not say)."""

    def __init__(self, reason: str, line: int = 1) -> None:
        self.reason, self.line = reason, line
        super().__init__(reason)


def _line_of(exc: Exception) -> int:
    line = getattr(exc, "lineno", None)
    if line:
        return int(line)
    marker = "(at line "
    text = str(exc)
    if marker in text:
        try:
            return int(text.split(marker)[1].split(",")[0].rstrip(")"))
        except ValueError:
            return 1
    return 1


def parse_toml(text: str) -> dict[str, Any]:
    """The document in ``text``; TomlError for invalid, oversized or too deeply nested TOML."""
    if len(text) > MAX_TOML_BYTES:
        raise TomlError(f"{len(text)} characters; a TOML file here is at most {MAX_TOML_BYTES}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(str(exc).split(" (at line")[0], _line_of(exc)) from None
    except RecursionError:
        raise TomlError("nested too deeply (arrays or tables inside each other hundreds of levels down)") from None

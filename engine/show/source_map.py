"""Where each table and key of a TOML show file sits, so errors can name the line.

``tomllib`` parses but forgets positions; the show format is plain enough (tables, arrays of
tables, ``key = value`` lines) that a line scan recovers them.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


class SourceMap:
    """Line numbers (1-based) of tables and keys; section ``("cue", 2)`` is the third [[cue]]."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        section: tuple[str, int] = ("", 0)
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                in_multiline = line.count('"""') % 2 == 0
                continue
            header = _HEADER.match(line)
            if header:
                name = header.group(2)
                index = counts.get(name, -1) + 1 if header.group(1) == "[[" else 0
                counts[name] = index
                section = (name, index)
                self.tables[section] = number
                continue
            key = _KEY.match(line)
            if key:
                self.keys.setdefault((section[0], section[1], key.group(1).strip('"')), number)
                in_multiline = line.count('"""') % 2 == 1

    def line(self, section: str, index: int = 0, key: str | None = None) -> int:
        """Line of ``key`` in the section (or of the section header, or 1)."""
        if key is not None and (section, index, key) in self.keys:
            return self.keys[(section, index, key)]
        return self.tables.get((section, index), 1)

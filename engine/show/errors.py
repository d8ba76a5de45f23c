"""Show-script errors: one line, ``file:line: what is wrong, what is expected``."""

from __future__ import annotations

from pathlib import Path


class ShowError(Exception):
    """A show script is invalid; ``str()`` is the one line to print."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{self.path}:{line}: {message}")

"""The one error type a model file can raise: a single line naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class ModelError(Exception):
    """A model could not be found or loaded; ``str()`` is one line, ``path: problem``."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

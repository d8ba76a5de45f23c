"""Where the example shows and the bundled model are, and where an installation keeps its state.

Installed from a wheel they are package data (``engine/bundled/``); in a source checkout they
are the top-level ``shows/`` and ``models/`` folders the wheel is built from. State a show
writes (its never-repeat registry) lives beside the show, except for shows inside the
installed package, or in a folder that cannot be written: those keep it in the state folder
(``$VERNISSAGE_STATE``, else ``$XDG_STATE_HOME/vernissage``, else ``~/.local/state/vernissage``),
never in site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled(kind: str) -> Path:
    """The folder of bundled ``kind`` ("shows" or "models")."""
    installed = PACKAGE / "bundled" / kind
    return installed if installed.is_dir() else PACKAGE.parent / kind


def state_dir() -> Path:
    explicit = os.environ.get("VERNISSAGE_STATE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vernissage"


def state_beside(path: Path, name: str) -> Path:
    """Where a file of state named ``name`` for ``path`` lives: beside it, or in the state folder."""
    folder = path.resolve().parent
    if folder.is_relative_to(PACKAGE) or not os.access(folder, os.W_OK):
        return state_dir() / name
    return folder / name

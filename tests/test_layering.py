"""The house reads top to bottom: rooms import only the rooms below them, and nothing imports
in a circle. Every import counts, at module level or inside a function.

    latent, audio <- generators <- frames <- show <- render, record <- inputs, outputs <- loop <- bench <- cli
    (steer, directions and vectors, sits on show, generators and render, under loop; curation, a
    show's faces on a contact sheet, on steer, under cli; farm, a render over a Dask cluster, on loop,
    under cli)
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = {"base"}  # engine/__init__, commands, status, tomlread, ratelimit: plain values and helpers
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "latent": BASE,
    "audio": BASE,  # sound in, features out: numpy, PyAV and PortAudio only
    "generators": BASE | {"latent"},
    "frames": BASE | {"latent"},
    "show": BASE | {"latent", "frames"},
    "render": BASE | {"frames"},
    "record": BASE,
    "inputs": BASE | {"show", "audio"},  # bindings name file:line like show scripts do
    "outputs": BASE | {"render", "record"},
    "loop": BASE | {"latent", "audio", "generators", "frames", "show", "render", "record", "inputs", "outputs",
                    "steer"},
    "curation": BASE | {"latent", "generators", "frames", "show", "render", "steer"},  # a show's faces on a sheet
    "steer": BASE | {"latent", "generators", "frames", "show", "render"},  # directions and vectors
    "train": BASE | {"generators", "render"},  # training a model, and measuring its spectrum
    "bench": BASE | {"latent", "audio", "generators", "frames", "show", "render", "record", "inputs", "outputs",
                     "loop"},
    "farm": BASE | {"generators", "show", "record", "inputs", "loop"},  # a render split over a Dask cluster
    "cli": BASE | {"farm", "audio", "curation", "steer", "train", "latent", "generators", "show", "render", "record", "inputs", "outputs", "loop", "bench"},
}
PACKAGES = {"latent", "audio", "generators", "show", "render", "record", "inputs", "outputs", "loop", "bench",
            "curation", "steer", "train", "farm"}


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    if parts[1] in PACKAGES or parts[1] in ("frames", "cli"):
        return parts[1]
    return "base"


def _imports(path: Path) -> set[str]:
    """Every engine module ``path`` imports, anywhere in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "engine" or name.startswith("engine.")}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (ROOT / "engine").rglob("*.py")}
    graph = {}
    for module, path in files.items():
        targets = set()
        for name in _imports(path):
            while name and name not in files:  # `from engine.show import Timeline` -> engine.show
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets
    return graph


def test_rooms_import_only_the_rooms_below_them():
    wrong = [f"{module} ({_room(module)}) imports {target} ({_room(target)})"
             for module, targets in _graph().items() for target in sorted(targets)
             if _room(target) != _room(module) and _room(target) not in ALLOWED[_room(module)]]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_command_line():
    assert not [m for m, targets in _graph().items() if "engine.cli" in targets]


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in graph[node]:
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_the_layering_check_can_fail():
    """The checks above see an upward import when there is one (a room of this very codebase)."""
    graph = _graph()
    assert "engine.loop.show_state" in graph["engine.loop.frame_loop"]
    assert _room("engine.loop.run") == "loop" and "loop" not in ALLOWED["show"]


def test_every_module_imports_without_tomllib():
    """Python 3.10 has no tomllib: with it hidden, every module still imports (tomli stands in)."""
    script = textwrap.dedent("""
        import importlib, importlib.abc, pkgutil, sys

        class NoTomllib(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "tomllib":
                    raise ModuleNotFoundError("No module named 'tomllib'", name=name)
                return None

        sys.meta_path.insert(0, NoTomllib())
        import engine
        failed = []
        for info in pkgutil.walk_packages(engine.__path__, "engine."):
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed.append(f"{info.name}: {exc!r}")
        from engine.tomlread import parse_toml, tomllib
        assert tomllib.__name__ == "tomli", tomllib.__name__
        assert parse_toml('a = 1')['a'] == 1
        print("\\n".join(failed) or "ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok", result.stdout


def test_quick_commands_never_load_torch_or_opengl():
    """--help, --version, check and osc send answer at once: they import neither torch nor moderngl."""
    script = textwrap.dedent("""
        import sys
        from engine.cli import main
        for argv in (["--version"], ["check", "shows/never_existed.toml"],
                     ["osc", "send", "/vernissage/render/fade", "0.5", "--port", "9"], ["models", "list"]):
            try:
                main(argv)
            except SystemExit:
                pass
        heavy = [m for m in ("torch", "moderngl", "av", "pygame") if m in sys.modules]
        print(",".join(heavy) or "none")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"


def test_the_command_line_offers_the_walks_there_are():
    from engine import cli, frames

    assert cli.WALKS == frames.WALKS

"""A real install: the wheel carries the shows and the model, and plays from any folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import decode

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_an_installed_wheel_renders_and_plays_from_an_unrelated_folder(tmp_path):
    dist, venv, elsewhere, home = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere", tmp_path / "home"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("vernissage-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VERNISSAGE_MODELS", "XDG_STATE_HOME")}
    env["HOME"] = str(home)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "vernissage"), *args], capture_output=True, text=True, cwd=elsewhere,
                              env=env, timeout=300)

    where = subprocess.run([str(python), "-c", "import engine; print(engine.__file__)"], capture_output=True,
                           text=True, cwd=elsewhere, env=env, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv)  # the wheel's engine, not the checkout's
    assert "digiface-dcgan64" in run("models", "list").stdout
    rendered = run("render", "-o", "x.mp4", "--seconds", "1", "--fps", "6", "--size", "160x90", "--no-progress")
    assert rendered.returncode == 0, rendered.stderr
    frames, info = decode(elsewhere / "x.mp4")
    assert len(frames) == 6 and (info["width"], info["height"]) == (160, 90)
    played = run("play", "--headless", "--size", "160x90", "--fps", "10", "--duration", "1.5", "--start", "20")
    assert played.returncode == 0, played.stderr
    registry = home / ".local" / "state" / "vernissage" / "never_existed.registry.json"
    assert json.loads(registry.read_text())["show_time"] >= 20.0  # beside the user's state, never in site-packages
    assert not list(venv.rglob("*.registry.json"))

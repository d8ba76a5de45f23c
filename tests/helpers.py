"""Test helpers: decode video files back into frames with PyAV; a live performance over OSC and its replay."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def decode(path: Path) -> tuple[list[np.ndarray], dict]:
    """All frames of ``path`` as RGB arrays, and facts about its first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "fps": Fraction(stream.average_rate) if stream.average_rate else None,
            "pix_fmt": stream.codec_context.pix_fmt,
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return frames, info


def assert_replay_matches(performance, live_dir: Path, replay_dir: Path) -> None:
    """Every frame a live run showed as planned equals the replay's frame of that tick, and
    nearly all were (a frame the live run stood in for is shown by the replay as planned)."""
    from PIL import Image

    live_files, replay_files = sorted(live_dir.glob("*.png")), sorted(replay_dir.glob("*.png"))
    assert len(replay_files) == performance.end and len(live_files) == len(performance.shown_ticks())
    compared = 0
    for tick, live_file in zip(performance.shown_ticks(), live_files):
        if tick in performance.stand_ins:
            continue
        assert np.array_equal(np.asarray(Image.open(live_file)), np.asarray(Image.open(replay_files[tick]))), tick
        compared += 1
    assert compared >= 0.9 * performance.end


def perform_and_replay(folder: Path, play: list[str], messages: list[tuple[str, list]], gap: float):
    """``vernissage play --headless PLAY...`` recorded and logged while ``messages`` arrive over
    real OSC ``gap`` s apart, then ``render --replay`` of its log, checked frame for frame with
    :func:`assert_replay_matches`. Returns the performance read back and the player's stderr."""
    from engine.inputs.osc_client import free_udp_port, send, wait_for_show
    from engine.inputs.performance_log import read_performance

    port = free_udp_port()
    log_path, live_dir, replay_dir = folder / "show.jsonl", folder / "live", folder / "replay"
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", "--headless", *play, "--osc", str(port),
                               "--record", str(live_dir), "--performance-log", str(log_path)],
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        assert wait_for_show(port, lambda: player.poll() is None), "the player did not start"
        for address, args in messages:
            send(address, args, port=port)
            time.sleep(gap)
    finally:
        _, errors = player.communicate(timeout=60)
    assert player.returncode == 0, errors
    replayed = subprocess.run([sys.executable, "-m", "engine.cli", "render", "--replay", str(log_path), "-o",
                               str(replay_dir)], capture_output=True, text=True, timeout=300, check=False)
    assert replayed.returncode == 0, replayed.stderr
    performance = read_performance(log_path)
    assert_replay_matches(performance, live_dir, replay_dir)
    return performance, errors


def cli_in_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``vernissage ARGS`` run through ``engine.cli.main`` in this process, its log lines (as the
    command line prints them) in ``stderr``: the same exit code and one-line errors as a process
    of its own, without the seconds each new process spends importing torch."""
    import logging
    import os

    from engine.cli import main

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's refusals
            code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(before)
        root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(list(args), code, "", stream.getvalue())

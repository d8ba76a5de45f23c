"""NDI out: a real cyndilib receiver finds `play --ndi` on loopback and gets moving frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

cyndilib = pytest.importorskip("cyndilib", reason='NDI is an extra: pip install "vernissage[ndi]"')
ROOT = Path(__file__).resolve().parents[1]


def _loopback_config(folder: Path) -> dict[str, str]:
    """NDI finds sources by multicast; this machine has none, so the runtime is told to look
    on the loopback address (ndi-config.v1.json in NDI_CONFIG_DIR)."""
    folder.mkdir(exist_ok=True)
    (folder / "ndi-config.v1.json").write_text(json.dumps({"ndi": {"networks": {"ips": "127.0.0.1"}}}))
    return {**os.environ, "NDI_CONFIG_DIR": str(folder)}


def test_a_receiver_finds_the_source_and_gets_moving_frames_of_the_shown_size(tmp_path, monkeypatch):
    """At 720p30 with a receiver on the same machine, the player keeps every frame."""
    env = _loopback_config(tmp_path / "ndi")
    monkeypatch.setenv("NDI_CONFIG_DIR", env["NDI_CONFIG_DIR"])
    from cyndilib.finder import Finder
    from cyndilib.receiver import Receiver, ReceiveFrameType
    from cyndilib.video_frame import VideoRecvFrame
    from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

    stats = tmp_path / "stats.json"
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                               "--speed", "2", "--size", "1280x720", "--fps", "30", "--duration", "12",
                               "--stats-json", str(stats), "--ndi", "vernissage-test"],
                              env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    finder = Finder()
    finder.open()
    frames: list[np.ndarray] = []
    try:
        source, began = None, time.monotonic()
        while source is None and time.monotonic() - began < 60 and player.poll() is None:
            finder.wait_for_sources(0.5)
            finder.update_sources()
            source = next((n for n in finder.get_source_names() if "vernissage-test" in n), None)
        assert source is not None, "the NDI source was not found"
        receiver = Receiver(color_format=RecvColorFormat.RGBX_RGBA, bandwidth=RecvBandwidth.highest)
        video = VideoRecvFrame()
        receiver.set_video_frame(video)
        receiver.connect_to(finder.get_source(source))
        began = time.monotonic()
        while len(frames) < 20 and time.monotonic() - began < 30:
            if receiver.receive(ReceiveFrameType.recv_video, 200) & ReceiveFrameType.recv_video:
                assert (video.xres, video.yres) == (1280, 720)
                data = np.empty(video.get_buffer_size(), np.uint8)
                video.fill_p_data(data)
                frames.append(data.reshape(720, 1280, 4)[::8, ::8, :3].astype(int))
        receiver.disconnect()
    finally:
        finder.close()
        _, errors = player.communicate(timeout=60)
    assert player.returncode == 0, errors
    assert len(frames) >= 20
    assert max(float(f.mean()) for f in frames) > 5  # a picture, not black
    changes = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    assert sum(c > 0.2 for c in changes) >= 10  # the faces move
    assert "NDI source 'vernissage-test' closed" in errors and "Traceback" not in errors
    assert json.loads(stats.read_text())["missed"] == 0


def test_without_cyndilib_ndi_is_one_line_and_the_show_goes_on(tmp_path):
    script = ("import sys; sys.modules['cyndilib'] = None; sys.modules['cyndilib.sender'] = None\n"
              "from engine.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", script, "play", "--headless", "--walk", "wander", "--size", "64x64",
                             "--duration", "1", "--ndi", "x"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'NDI needs cyndilib: pip install "vernissage[ndi]"' in result.stderr and "played" in result.stderr

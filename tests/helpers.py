"""Test helpers: decode video files back into frames with PyAV."""

from __future__ import annotations

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

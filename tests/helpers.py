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

"""The --stats panel: fps, frame-time percentiles, misses, show time, recording, on screen only.

Redrawn with Pillow at most twice a second (text changes slowly; drawing it is ~1 ms) and
blended over the frame after every recording and snapshot has read it, so they never
contain it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.outputs.base import Canvas, Output

REDRAW_EVERY = 0.5


@lru_cache(maxsize=4)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(px)


def stats_panel(lines: list[str], output_height: int) -> np.ndarray:
    """(h, w, 4) uint8 RGBA: ``lines`` in white on a translucent dark box, sized to the text."""
    px = max(10, round(18 * output_height / 1080))
    font = _font(px)
    pad = px // 2
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text = "\n".join(lines)
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=font, spacing=px // 4)
    panel = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 150))
    ImageDraw.Draw(panel).multiline_text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255),
                                         spacing=px // 4)
    return np.asarray(panel)


def stats_lines(summary: dict, show_time: float, speed: float, paused: bool, keyframe_rate: float,
                recording: str | None) -> list[str]:
    state = "paused" if paused else f"speed x{speed:.2f}"
    lines = [
        f"{summary['fps']:.1f} fps (target {summary['fps_target']:g})",
        f"frame p50 {summary['p50_ms']:.1f} ms  p99 {summary['p99_ms']:.1f} ms",
        f"missed {summary['missed']} (late {summary['missed_late']}, stand-in {summary['missed_substituted']})",
        f"show {show_time:.2f} s  {state}  keyframes {keyframe_rate:g}/s",
    ]
    if recording:
        lines.append(f"REC {recording}")
    return lines


class StatsPanelOutput(Output):
    """Draws ``describe()``'s lines in the top-left corner of the screen."""

    def __init__(self, describe: Callable[[int], list[str]], height: int, flipped: bool) -> None:
        self.describe = describe
        self.height = height
        self.flipped = flipped
        self._panel: np.ndarray | None = None
        self._drawn_at = -1.0

    def overlay(self, canvas: Canvas, tick: int) -> None:
        now = time.perf_counter()
        if self._panel is None or now - self._drawn_at > REDRAW_EVERY:
            self._panel, self._drawn_at = stats_panel(self.describe(tick), self.height), now
        margin = round(self.height * 0.02)
        canvas.draw_overlay(self._panel, (margin, margin), self.flipped)

    def resized(self, size: tuple[int, int]) -> None:
        self.height = size[1]
        self._panel = None

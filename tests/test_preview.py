"""The operator's preview in the terminal: the picture as coloured half blocks, and the stats."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine.outputs.preview import HALF_BLOCK, TerminalPreview, ansi_picture

ROOT = Path(__file__).resolve().parents[1]


def test_half_blocks_carry_two_pixel_rows_each():
    rgb = np.zeros((4, 2, 3), np.uint8)
    rgb[0], rgb[1], rgb[2:, 0], rgb[2:, 1] = (255, 0, 0), (0, 0, 255), (0, 255, 0), (9, 9, 9)
    lines = ansi_picture(rgb, 2).split("\n")
    assert len(lines) == 2 and lines[0].count(HALF_BLOCK) == 2
    assert "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m" in lines[0]  # red above blue
    assert "\x1b[38;2;0;255;0m\x1b[48;2;0;255;0m" in lines[1] and "\x1b[38;2;9;9;9m" in lines[1]


def test_the_preview_reads_the_clean_frame_back_and_draws_it_off_the_frame_thread(gl):
    fbo = gl.simple_framebuffer((64, 36), components=3)
    fbo.use()
    fbo.clear(1.0, 0.5, 0.0)
    stream = io.StringIO()
    clock = iter([0.0, 0.1, 0.6, 0.7, 1.2])
    preview = TerminalPreview(gl, (64, 36), False, lambda tick: [f"tick {tick}", "60.0 fps"], stream, columns=16,
                              now=lambda: next(clock))
    for tick in range(5):  # read at 0.0, collected at 0.1; read at 0.6, collected at 0.7; read at 1.2
        preview.capture(fbo, tick)
        time.sleep(0.05)
    preview.close()
    fbo.release()
    out = stream.getvalue()
    assert preview.drawn == 2 and out.count("tick 0") == 1 and out.count("tick 2") == 1
    assert "\x1b[38;2;255;128;0m" in out or "\x1b[38;2;255;127;0m" in out  # the picture's own colour


def test_preview_without_a_terminal_is_one_line_and_the_stats_stay_off_the_display(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander", "--size",
                             "64x64", "--duration", "1", "--preview"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0 and "--preview draws in the terminal" in result.stderr and "played" in result.stderr

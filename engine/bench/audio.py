"""``vernissage bench --audio``: what listening costs, and the live show while it reacts.

First the analysis alone on a minute of synthetic music (kicks, hats, a bass line), per frame
at 60 fps, against the frame's budget. Then two real ``vernissage play --headless`` runs at
1280x720 and 60 fps in their own processes, the same walk without and with ``--audio`` (the
track heard in step with the show, as from a sound card): frames, frame times and missed frames
side by side, the first run the baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.audio.analysis import SAMPLE_RATE, Analyzer
from engine.audio.reactivity import Reactivity


def music(seconds: float, bpm: float = 124.0) -> np.ndarray:
    """Kicks on the beat, hats between, a bass line: enough to keep every feature busy."""
    rng = np.random.default_rng(7)
    n = round(seconds * SAMPLE_RATE)
    out = rng.normal(0.0, 0.01, n)
    t = np.arange(round(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
    kick = 0.7 * np.sin(2 * np.pi * (50 + 90 * np.exp(-t * 30)) * t) * np.exp(-t * 18)
    hat = rng.normal(0.0, 0.15, len(t)) * np.exp(-t * 60)
    beat = 60.0 / bpm
    for k, start in enumerate(np.arange(0.0, seconds, beat / 2)):
        i = round(start * SAMPLE_RATE)
        hit = kick if k % 2 == 0 else hat
        out[i:i + len(hit)] += hit[:n - i]
    bass = 0.2 * np.sin(2 * np.pi * 55 * np.arange(n) / SAMPLE_RATE) * (np.arange(n) // (SAMPLE_RATE * 2) % 2)
    return np.clip(out + bass, -1.0, 1.0)


def write_wav(path: Path, samples: np.ndarray) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def analysis_cost(samples: np.ndarray, fps: float) -> float:
    """Milliseconds per frame to analyse ``samples`` a frame at a time (reactivity included)."""
    analyzer, reactivity = Analyzer(), Reactivity(1.0, fps)
    per_frame = Fraction(SAMPLE_RATE) / Fraction(fps).limit_denominator(1001)
    frames = int(len(samples) / per_frame)
    began = time.perf_counter()
    for i in range(frames):
        analyzer.feed(samples[round(i * per_frame):round((i + 1) * per_frame)])
        reactivity.drive(analyzer.take())
    return 1000.0 * (time.perf_counter() - began) / frames


def run_audio_bench(model: str, seconds: float, fps: float, output: Path | None) -> dict:
    track = music(max(seconds, 60.0))
    cost = analysis_cost(track, fps)
    print(f"analysis: {cost:.3f} ms a frame at {fps:g} fps ({100 * cost * fps / 1000:.1f} % of one core, "
          f"{cost / (1000 / fps):.3f}x the frame's budget)")
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "music.wav"
        write_wav(wav, track)
        for audio in (False, True):
            stats_path = Path(scratch) / "stats.json"
            command = [sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander", "--model", model,
                       "--size", "1280x720", "--fps", str(fps), "--duration", str(seconds),
                       "--stats-json", str(stats_path)] + (["--audio", str(wav)] if audio else [])
            subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
            stats = json.loads(stats_path.read_text())
            row = {"audio": audio, **{k: stats[k] for k in ("frames", "fps", "p50_ms", "p99_ms", "missed",
                                                               "missed_late", "missed_substituted")}}
            runs.append(row)
            print(f"1280x720 {'with' if audio else 'without'} audio: {row['fps']:6.2f} fps  p50 {row['p50_ms']:5.1f} ms"
                  f"  p99 {row['p99_ms']:5.1f} ms  missed {row['missed']} (late {row['missed_late']}, "
                  f"stand-in {row['missed_substituted']})")
    result = {"analysis_ms_per_frame": round(cost, 4), "runs": runs}
    if output:
        output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result

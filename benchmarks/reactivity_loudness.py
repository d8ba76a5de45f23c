"""Audio reactivity on a full mix mastered quiet, normal and loud (-30, -14, -6 dBFS RMS).

    python benchmarks/reactivity_loudness.py [--seconds 30] [--fps 30] [--track FILE] [--json PATH]

Each master goes through the engine's own per-frame path (engine.inputs.audio: the causal
analysis up to each frame's time, then the reactivity) and prints what the show would do:
the drive's range over the track (5th, 50th and 95th percentile, and the share of frames at the
drive's ceiling), the mean drive (1.0: the show keeps its own timing, so a face meant to hold
2.5 s holds 2.5 s), and the motion at kicks against between them (the mean drive over the three
frames from each kick, over the mean of the six frames before it: how visibly the faces lurch
on the beat). The mix is engine.bench.music's: kick, snare, hats, bass and chords; ``--track``
takes a recording instead (any file PyAV decodes, looped to ``--seconds``, mastered the same
three ways), its kicks found offline as peaks of its bass envelope.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.audio.reactivity import FASTEST  # noqa: E402
from engine.audio.sources import FileAudio  # noqa: E402
from engine.bench.music import MASTERS, RATE, master, mix, write_wav  # noqa: E402
from engine.inputs.audio import AudioInput  # noqa: E402


def drives(path: Path, fps: int, frames: int) -> list[float]:
    audio = AudioInput(FileAudio(path), Fraction(fps), 1.0)
    out = [audio.commands(tick)[0].drive for tick in range(frames)]
    audio.close()
    return out


def measure(values: list[float], kicks: np.ndarray, fps: int, settle: float) -> dict[str, float]:
    steady = [v for i, v in enumerate(values) if i >= settle * fps]
    ordered = sorted(steady)
    # frame i hears the samples before i / fps: a kick at t is heard first by frame floor(t * fps) + 1
    kick_frames = [math.floor(t * fps) + 1 for t in kicks if settle <= t and math.floor(t * fps) + 3 < len(values)]
    on = statistics.mean(statistics.mean(values[k:k + 3]) for k in kick_frames)  # the lurch
    between = statistics.mean(statistics.mean(values[k - 6:k]) for k in kick_frames)  # the last fifth of a second before
    return {"p5": ordered[int(0.05 * (len(ordered) - 1))], "p50": ordered[len(ordered) // 2],
            "p95": ordered[int(0.95 * (len(ordered) - 1))], "at_ceiling": sum(v >= FASTEST - 1e-6 for v in steady) / len(steady),
            "mean": statistics.mean(steady), "kick_over_between": on / between}


def recording(path: Path, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """``path`` as mono samples at RATE, looped to ``seconds``, and its kicks: peaks of the
    energy below 150 Hz (10-ms hops) above twice its median, at least 0.3 s apart."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    once = np.concatenate(chunks)
    samples = np.tile(once, math.ceil(seconds * RATE / len(once)))[: round(seconds * RATE)]
    spectrum = np.fft.rfft(samples)
    spectrum[np.fft.rfftfreq(len(samples), 1 / RATE) > 150.0] = 0
    bass = np.fft.irfft(spectrum, len(samples)) ** 2
    hop = RATE // 100
    energy = bass[: len(bass) // hop * hop].reshape(-1, hop).mean(axis=1)
    floor = 2.0 * float(np.median(energy))
    kicks: list[float] = []
    for i in range(1, len(energy) - 1):
        if energy[i] > floor and energy[i] >= energy[i - 1] and energy[i] > energy[i + 1]:
            if kicks and i / 100 - kicks[-1] < 0.3:
                continue
            kicks.append(i / 100 - 0.01)  # the hop the rise starts in
    return samples, np.array(kicks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--settle", type=float, default=4.0, help="seconds left out at the start")
    parser.add_argument("--track", type=Path, default=None, help="a recording instead of the synthetic mix")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    samples, kicks = recording(args.track, args.seconds) if args.track else mix(args.seconds)
    if args.track:
        print(f"{args.track.name}: {len(kicks)} kicks found in {args.seconds:g} s")
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, loudness in MASTERS.items():
            path = write_wav(Path(scratch) / f"{name}.wav", master(samples, loudness))
            rows[name] = measure(drives(path, args.fps, round(args.seconds * args.fps)), kicks, args.fps, args.settle)
    print("| master | drive p5 / p50 / p95 | frames at the 8x ceiling | mean drive | at kicks / between |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(f"| {name} ({MASTERS[name]:g} dBFS RMS) | {r['p5']:.2f} / {r['p50']:.2f} / {r['p95']:.2f} | "
              f"{r['at_ceiling']:.0%} | {r['mean']:.2f} | {r['kick_over_between']:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""A full mix to measure audio reactivity on: drums, bass and chords at 120 BPM, mastered quiet,
normal and loud.

Click tracks and lone kicks are what a first test reaches for and what no gallery plays. This
is a dense arrangement (kick on every beat, snare on two and four, closed hi-hats on every
eighth, a bass line on the kick, a sustained chord pad with a slow filter sweep, a little noise
floor), levelled to a target loudness and, for the loud master, driven into a soft clipper as
mastering limiters do: short-term loudness in the last few dB, transients flattened, the kind of
track that made the old defaults sit at their maximum. Loudness is an RMS measure (dBFS of the
whole mix, K-weighting left out), close to LUFS for material like this.
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np

RATE = 48_000
BPM = 120.0
MASTERS = {"quiet": -30.0, "normal": -14.0, "loud": -6.0}  # target loudness, dBFS RMS ("LUFS-like")


def _kick(rate: int) -> np.ndarray:
    t = np.arange(round(0.35 * rate)) / rate
    return np.sin(2 * np.pi * (48 + 110 * np.exp(-t * 35)) * t) * np.exp(-t * 9)


def _snare(rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(round(0.25 * rate)) / rate
    body = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    return body + 0.6 * rng.normal(0, 1, len(t)) * np.exp(-t * 18)


def _hat(rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(round(0.06 * rate)) / rate
    hiss = np.diff(rng.normal(0, 1, len(t) + 1))  # first difference: a bright noise
    return 0.25 * hiss * np.exp(-t * 70)


def mix(seconds: float, seed: int = 0, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """(samples, kick times in seconds): the arrangement before mastering, peaking near 1."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    out = np.zeros(n + rate)
    beat = 60.0 / BPM
    kick, snare, hat = _kick(rate), _snare(rate, rng), _hat(rate, rng)
    kicks = np.arange(0.0, seconds, beat)
    for k, start in enumerate(kicks):
        i = round(start * rate)
        out[i:i + len(kick)] += 0.9 * kick
        if k % 2 == 1:
            out[i:i + len(snare)] += 0.5 * snare
        for eighth in (0.0, beat / 2):
            j = round((start + eighth) * rate)
            out[j:j + len(hat)] += hat * (1.0 if eighth else 0.7)
        root = (41.2, 41.2, 49.0, 36.7)[(k // 4) % 4]  # E1, E1, G1, D1: a bar each
        t = np.arange(round(beat * rate * 0.9)) / rate
        out[i:i + len(t)] += 0.35 * np.sin(2 * np.pi * root * t) * np.minimum(1.0, t * 40) * np.exp(-t * 2)
    t = np.arange(n) / rate
    pad = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((164.8, 0.0), (196.0, 1.0), (246.9, 2.0), (329.6, 0.5)))
    out[:n] += 0.05 * pad * (0.6 + 0.4 * np.sin(2 * np.pi * t / 8.0))
    out[:n] += rng.normal(0, 0.002, n)
    return out[:n], kicks


def master(samples: np.ndarray, loudness_db: float) -> np.ndarray:
    """``samples`` at ``loudness_db`` dBFS RMS; past what the peaks allow, into a soft clipper
    (tanh) that gives the loudness up front and flattens the transients, as a limiter would."""

    def mastered(drive: float) -> np.ndarray:
        driven = samples * drive
        return np.tanh(driven) if np.abs(driven).max() > 0.9 else driven

    def loudness(drive: float) -> float:
        return 20 * math.log10(float(np.sqrt(np.mean(mastered(drive) ** 2))) + 1e-12)

    low, high = -60.0, 60.0  # the drive in dB: loudness grows with it, so bisect
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if loudness(10 ** (middle / 20)) < loudness_db else (low, middle)
    return np.clip(mastered(10 ** (high / 20)), -1.0, 1.0)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 2) -> Path:
    """``samples`` (mono, -1..1) as a 16-bit WAV (or whatever ``path``'s suffix says), the same
    sound on every channel; an empty array gives a stream with no samples."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout=layout)
        data = np.repeat(pcm[:, None], channels, axis=1).reshape(1, -1)
        if data.size:
            frame = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path

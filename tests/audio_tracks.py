"""Synthetic tracks the audio tests write for themselves: clicks, kicks, noise, sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.bench.music import RATE, write_wav


def write_track(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 2) -> Path:
    """``samples`` (mono, -1..1) as a 16-bit WAV (or whatever ``path``'s suffix says)."""
    return write_wav(path, samples, rate, channels)


def clicks(times: list[float], seconds: float, rate: int = RATE) -> np.ndarray:
    out = np.zeros(round(seconds * rate))
    for t in times:
        out[round(t * rate)] = 1.0
    return out


def kicks(times: list[float] | np.ndarray, seconds: float, rate: int = RATE) -> np.ndarray:
    """Bass drum hits: a falling sine that decays in a tenth of a second."""
    out = np.zeros(round(seconds * rate))
    t = np.arange(round(0.3 * rate)) / rate
    hit = 0.8 * np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 20)
    for start in times:
        i = round(start * rate)
        out[i:i + len(hit)] += hit[:len(out) - i]
    return out


def noise(seconds: float, level: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, level, round(seconds * rate))


def sweep(seconds: float, low: float, high: float, rate: int = RATE) -> np.ndarray:
    """A sine gliding from ``low`` to ``high`` Hz (exponentially), at -10 dBFS."""
    t = np.arange(round(seconds * rate)) / rate
    k = np.log(high / low) / seconds
    return 0.3 * np.sin(2 * np.pi * low * (np.exp(k * t) - 1) / k)

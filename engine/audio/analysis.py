"""Samples in, features out: level, onsets, three bands, tempo and beat phase, causally.

The analysis runs in hops of 10 ms over a 43 ms window, and every feature at a moment uses
only the samples before it: a live sound card and a file give the same features for the
same samples, and a render's frame i sees the audio up to i / fps, no further. Each frame
takes a summary of the hops since the last frame (:meth:`Analyzer.take`): the latest level
and bands, the strongest onset, and whether an onset or a beat fell in it.

The level is relative to the track's own loudness: a reference, the mean loudness of the last
seconds with sound (silence does not count), and the level is where the moment stands against it (the reference reads :data:`TYPICAL_LEVEL`, 10 dB over it
reads 1, 12 dB under it 0). A quiet master and a loud one of the same music give the same
levels, so both pulse on the beat at the show's own pace (read absolutely, a normally loud
track sat at the top of the scale and drove the show at eight times its speed). Silence is
still silence: below :data:`SILENCE_DB` the level is 0 and the reference waits. The bands
stay absolute (dBFS mapped to 0..1), for bindings that want them so. A render and a live
show hear the same samples from the same start, so they agree. Onsets are spectral flux (the rise of the log spectrum from one hop to the
next) over three times its moving median of the last half second: steady noise has a steady flux and no
onsets; a click or a kick rises above it within one hop. Tempo is the autocorrelation of the
flux over the last six seconds, weighted toward 120 BPM (the octave errors every tracker
makes go the way a dancer would count); beats come from a phase that advances each hop and
is pulled toward the comb of flux peaks.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, fields

import numpy as np

SAMPLE_RATE = 48_000
HOPS_PER_SECOND = 100
WINDOW_SECONDS = 0.043
BANDS = ((20.0, 250.0), (250.0, 2000.0), (2000.0, 16000.0))  # low, mid, high (Hz)
QUIET_DB, LOUD_DB = -50.0, -10.0  # dBFS read as band level 0 and 1
SILENCE_DB = -60.0  # below: silence (level 0; the loudness reference does not follow it down)
TYPICAL_LEVEL = 0.5  # the level of the track's own loudness: the show's own pace (engine.audio.reactivity)
ABOVE_DB, BELOW_DB = 10.0, 12.0  # dB over the reference that read 1, under it that read 0
REFERENCE_SECONDS = 8.0  # the track's loudness: the mean of the last seconds with sound
ATTACK, RELEASE = 0.010, 0.250  # seconds: the level follows a rise at once and a fall over a quarter second
BAND_RELEASE = 0.150
ONSET_MEDIAN = 50  # hops of flux history the onset threshold follows (half a second: its median, or its mean while a sound starts)
ONSET_RATIO, ONSET_MARGIN = 3.0, 0.2  # an onset: flux over three times the median, plus a margin: steady noise peaks at 4x
ONSET_GAP = 5  # hops (50 ms) between two onsets at least
ONSET_FULL = 1.0  # flux over the median that reads as onset strength 1
EARLY_JUMP, EARLY_FLOOR = 4.0, 0.01  # a partial hop 12 dB louder than the window before (and over -40 dBFS): an onset
ONSET_BANDS = 24  # log-spaced bands the flux is measured in, 30 Hz to 16 kHz: a kick counts as much as a hi-hat
TEMPO_HISTORY = 600  # hops of flux the tempo is estimated from (6 s)
TEMPO_EVERY = 25  # hops between tempo estimates
TEMPO_RANGE = (60.0, 180.0)  # BPM
TEMPO_CONFIDENCE = 0.15  # autocorrelation at the beat over the one at 0, below which no tempo is heard
PHASE_PULL = 0.5  # how far each estimate pulls the beat phase toward the flux peaks


@dataclass(frozen=True)
class AudioFeatures:
    """What one frame hears. Every value is finite; 0..1 unless said otherwise."""

    level: float = 0.0  # loudness: -50 dBFS -> 0, -10 dBFS -> 1
    onset: float = 0.0  # the strongest onset in the frame
    hit: bool = False  # an onset fell in the frame
    low: float = 0.0  # 20-250 Hz
    mid: float = 0.0  # 250-2000 Hz
    high: float = 0.0  # 2-16 kHz
    bpm: float = 0.0  # the tempo heard; 0 while none is
    phase: float = 0.0  # how far through the beat
    beat: bool = False  # a beat fell in the frame

    def values(self) -> list[float]:
        """As the performance log writes them (booleans as 0/1)."""
        return [float(getattr(self, f.name)) for f in fields(self)]

    @classmethod
    def from_values(cls, values: list[object]) -> AudioFeatures:
        """From :meth:`values`; ValueError for anything else (a hostile log)."""
        names = [f.name for f in fields(cls)]
        if len(values) != len(names):
            raise ValueError(f"audio features are {len(names)} numbers, got {len(values)}")
        checked: dict[str, float | bool] = {}
        for name, value in zip(names, values):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"audio feature '{name}' must be a finite number, got {value!r}")
            high = 1000.0 if name == "bpm" else 1.0
            if not 0.0 <= value <= high:
                raise ValueError(f"audio feature '{name}' must be 0..{high:g}, got {value}")
            checked[name] = bool(value) if name in ("hit", "beat") else float(value)
        return cls(**checked)  # type: ignore[arg-type]


def _db_level(power: float) -> float:
    """Mean power (amplitude squared) -> 0..1 between QUIET_DB and LOUD_DB."""
    db = 10.0 * math.log10(power + 1e-12)
    return min(1.0, max(0.0, (db - QUIET_DB) / (LOUD_DB - QUIET_DB)))


def relative_level(db: float, reference: float) -> float:
    """``db`` against the track's loudness ``reference`` -> 0..1 (:data:`TYPICAL_LEVEL` at it)."""
    if db < SILENCE_DB:
        return 0.0
    scale = ABOVE_DB if db >= reference else BELOW_DB
    return min(1.0, max(0.0, TYPICAL_LEVEL + (1.0 - TYPICAL_LEVEL if db >= reference else TYPICAL_LEVEL)
                        * (db - reference) / scale))


def _log_bands(freqs: np.ndarray) -> np.ndarray:
    """(ONSET_BANDS, bins): each row averages the bins of one log-spaced band (at least one bin)."""
    edges = np.geomspace(30.0, 16000.0, ONSET_BANDS + 1)
    filters = np.zeros((ONSET_BANDS, freqs.size))
    for i in range(ONSET_BANDS):
        lo, hi = np.searchsorted(freqs, edges[i]), np.searchsorted(freqs, edges[i + 1])
        hi = max(hi, lo + 1)
        filters[i, lo:hi] = 1.0 / (hi - lo)
    return filters


def _follow(current: float, target: float, rise: float, fall: float) -> float:
    """One hop of an envelope follower: per-hop factors for rising and falling."""
    return current + (target - current) * (rise if target > current else fall)


def _factor(seconds: float) -> float:
    return 1.0 - math.exp(-1.0 / (seconds * HOPS_PER_SECOND))


class Analyzer:
    """Feed samples (mono float32, -1..1) as they come; take a frame's features when it starts."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.rate = sample_rate
        self.hop = round(sample_rate / HOPS_PER_SECOND)
        size = 1 << round(math.log2(WINDOW_SECONDS * sample_rate))  # 2048 at 48 kHz
        self._window = np.hanning(size)
        self._scale = 2.0 / self._window.sum()  # a full-scale sine peaks at magnitude 1
        self._samples = np.zeros(size)
        self._pending = np.zeros(0, dtype=np.float64)
        freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
        self._bands = [slice(*np.searchsorted(freqs, band)) for band in BANDS]
        self._filters = _log_bands(freqs)
        self._log_before = np.zeros(ONSET_BANDS)
        self._flux: deque[float] = deque(maxlen=TEMPO_HISTORY)
        self._recent: deque[float] = deque(maxlen=ONSET_MEDIAN)
        self._level = 0.0
        self._loudness = SILENCE_DB - 60.0  # dBFS, the envelope of the moment
        self._heard: deque[float] = deque(maxlen=round(REFERENCE_SECONDS * HOPS_PER_SECOND))  # loudness of hops with sound
        self._heard_sum = 0.0
        self._band_levels = [0.0, 0.0, 0.0]
        self._since_onset = ONSET_GAP
        self._flux_before = 0.0
        self._bpm = 0.0
        self._phase = 0.0
        self.hops = 0
        self._frame_onset = 0.0
        self._frame_hit = False
        self._frame_beat = False
        self._attack, self._release, self._band_release = _factor(ATTACK), _factor(RELEASE), _factor(BAND_RELEASE)

    def feed(self, samples: np.ndarray) -> None:
        """Analyse ``samples`` (any length; a partial hop waits for the rest)."""
        samples = np.nan_to_num(np.asarray(samples, dtype=np.float64).reshape(-1), nan=0.0, posinf=1.0, neginf=-1.0)
        data = np.concatenate((self._pending, np.clip(samples, -1.0, 1.0)))
        whole = len(data) // self.hop * self.hop
        for start in range(0, whole, self.hop):
            self._hop(data[start:start + self.hop])
        self._pending = data[whole:]

    def take(self) -> AudioFeatures:
        """The features of the frame that starts now: the hops fed since the last call."""
        self._early_onset()
        features = AudioFeatures(self._level, self._frame_onset, self._frame_hit, *self._band_levels,
                                 round(float(self._bpm), 2), float(self._phase) if self._bpm else 0.0, self._frame_beat)
        self._frame_onset, self._frame_hit, self._frame_beat = 0.0, False, False
        return features

    # --- one hop ----------------------------------------------------------------------------------

    def _hop(self, chunk: np.ndarray) -> None:
        self.hops += 1
        n = len(chunk)
        self._samples[:-n] = self._samples[n:]
        self._samples[-n:] = chunk
        magnitude = np.abs(np.fft.rfft(self._samples * self._window)) * self._scale
        recent = self._samples[-len(self._samples) // 2:]
        power = float(np.dot(recent, recent)) / len(recent)
        db = max(10.0 * math.log10(2.0 * power + 1e-12), SILENCE_DB - 60.0)
        self._loudness = _follow(self._loudness, db, self._attack, self._release)  # dBFS, enveloped
        if self._loudness >= SILENCE_DB:  # the reference: the same envelope, over the last seconds of sound
            if len(self._heard) == self._heard.maxlen:
                self._heard_sum -= self._heard[0]
            self._heard.append(self._loudness)
            self._heard_sum += self._loudness
        reference = self._heard_sum / len(self._heard) if self._heard else None
        self._level = relative_level(self._loudness, reference) if reference is not None else 0.0
        energy = magnitude ** 2
        for i, band in enumerate(self._bands):
            self._band_levels[i] = _follow(self._band_levels[i], _db_level(float(energy[band].sum())),
                                           self._attack, self._band_release)
        self._onsets(magnitude)
        self._beats()

    def _onsets(self, magnitude: np.ndarray) -> None:
        logs = np.log1p(1000.0 * (self._filters @ magnitude))
        flux = float(np.maximum(logs - self._log_before, 0.0).sum()) / ONSET_BANDS
        self._log_before = logs
        median = max(statistics.median(self._recent), statistics.fmean(self._recent)) if self._recent else 0.0
        self._flux.append(flux)
        self._recent.append(flux)
        strength = min(1.0, max(0.0, (flux - median) / ONSET_FULL))
        self._frame_onset = max(self._frame_onset, strength)
        self._since_onset += 1
        rising = flux > self._flux_before
        self._flux_before = flux
        if rising and flux > ONSET_RATIO * median + ONSET_MARGIN and self._since_onset >= ONSET_GAP:
            self._since_onset = 0
            self._frame_hit = True

    def _early_onset(self) -> None:
        """An onset in the samples of a hop not yet complete is heard by this frame, not the
        next: the hop grid alone could add 10 ms and miss the frame. Too few samples for a
        spectrum, so it is a jump in loudness (EARLY_JUMP over the window before, above
        EARLY_FLOOR). The hop, when complete, is analysed as always (the history does not
        depend on where frames fall) but does not count the onset again."""
        pending = self._pending
        if not len(pending) or self._since_onset < ONSET_GAP:
            return
        now = math.sqrt(float(np.dot(pending, pending)) / len(pending))
        before = math.sqrt(float(np.dot(self._samples, self._samples)) / len(self._samples))
        if now > EARLY_JUMP * before + EARLY_FLOOR:
            self._since_onset = 0
            self._frame_hit = True
            self._frame_onset = max(self._frame_onset, min(1.0, (now - before) / (now + 1e-12)))

    def _beats(self) -> None:
        if self.hops % TEMPO_EVERY == 0 and len(self._flux) >= TEMPO_HISTORY // 2:
            self._estimate_tempo()
        if self._bpm:
            self._phase += self._bpm / 60.0 / HOPS_PER_SECOND
            if self._phase >= 1.0:
                self._phase -= 1.0
                self._frame_beat = True

    def _estimate_tempo(self) -> None:
        flux = np.asarray(self._flux)
        x = flux - flux.mean()
        energy = float(np.dot(x, x))
        if energy <= 1e-9:
            self._bpm = 0.0
            return
        lags = np.arange(math.floor(60.0 * HOPS_PER_SECOND / TEMPO_RANGE[1]),
                         math.ceil(60.0 * HOPS_PER_SECOND / TEMPO_RANGE[0]) + 2)
        ac = np.array([np.dot(x[:-lag], x[lag:]) for lag in lags]) / energy
        bpms = 60.0 * HOPS_PER_SECOND / lags
        weighted = ac * np.exp(-0.5 * (np.log2(bpms / 120.0) / 0.9) ** 2)
        best = int(np.argmax(weighted[1:-1])) + 1
        if ac[best] < TEMPO_CONFIDENCE:
            self._bpm = 0.0
            return
        a, b, c = ac[best - 1], ac[best], ac[best + 1]  # the peak between hops (a parabola)
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
        period = float(lags[best]) + max(-0.5, min(0.5, shift))
        bpm = 60.0 * HOPS_PER_SECOND / period
        self._bpm = bpm if not self._bpm or abs(bpm / self._bpm - 1.0) > 0.04 else 0.7 * self._bpm + 0.3 * bpm
        self._align_phase(flux, period)

    def _align_phase(self, flux: np.ndarray, period: float) -> None:
        """Pull the beat phase toward the offset whose comb of beats collects the most flux."""
        whole = max(1, round(period))
        last = len(flux) - 1 - np.arange(whole)  # each offset from now...
        beats = last[:, None] - whole * np.arange(4)[None, :]  # ... and the three beats before it
        scores = np.where(beats >= 0, flux[np.maximum(beats, 0)], 0.0).sum(axis=1)
        since_beat = int(np.argmax(scores))  # hops since the last beat
        target = since_beat / period
        error = (target - self._phase + 0.5) % 1.0 - 0.5
        self._phase = (self._phase + (error if abs(error) > 0.25 else PHASE_PULL * error)) % 1.0

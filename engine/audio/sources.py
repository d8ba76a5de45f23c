"""Where samples come from: a file (any format PyAV decodes) or a sound card (PortAudio).

Both give mono float32 at :data:`~engine.audio.analysis.SAMPLE_RATE`. A file is read in step
with the show: frame i asks for the samples up to i / fps, so a render and a live run of the
same file hear exactly the same samples. A sound card delivers blocks on PortAudio's thread;
its callback only copies them into a ring buffer (no lock, no allocation, no GL) and the
frame thread takes what has arrived.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from engine.audio.analysis import SAMPLE_RATE

log = logging.getLogger(__name__)
RING_SECONDS = 4.0
STALE_AFTER = 1.0  # seconds without a block: the sound card is gone
MOST_PER_FRAME = 0.25  # seconds of samples a frame analyses at most (older ones, after a stall, are skipped)


class AudioError(Exception):
    """Audio that cannot be used; ``str()`` is one line naming the file or device and the cause."""


class AudioSource(Protocol):
    """Samples for the analysis, frame by frame."""

    name: str

    def read(self, until: float) -> np.ndarray:
        """New samples since the last call: a file's up to ``until`` seconds, a sound card's so far."""

    @property
    def alive(self) -> bool:
        """False once a sound card stopped delivering (unplugged): the show stops reacting."""

    def close(self) -> None: ...


def _decoded(path: Path) -> Any:
    """Resampled mono frames of the first audio stream of ``path``, as float32 arrays."""
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError) as exc:
        raise AudioError(f"{path}: cannot read audio ({getattr(exc, 'strerror', None) or exc})") from None
    if not container.streams.audio:
        container.close()
        raise AudioError(f"{path}: no audio stream in the file")
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def frames() -> Any:
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
        except (OSError, av.error.FFmpegError) as exc:
            raise AudioError(f"{path}: cannot decode audio ({getattr(exc, 'strerror', None) or exc})") from None
        finally:
            container.close()

    return frames()


def track_seconds(path: Path) -> float:
    """The exact length of a track, by decoding it (container headers are often approximate)."""
    count = sum(len(chunk) for chunk in _decoded(path))
    if count == 0:
        raise AudioError(f"{path}: the audio stream holds no samples")
    return count / SAMPLE_RATE


class FileAudio:
    """A track read in step with the show (``loop``: from the start again at its end, live)."""

    def __init__(self, path: Path, loop: bool = False) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.loop = loop
        self._chunks = _decoded(self.path)
        self._buffer = np.zeros(0, dtype=np.float32)  # decoded, not yet handed out
        self._position = 0  # samples of this pass of the track handed out
        self._origin = 0  # show sample at which this pass of the track began

    @property
    def alive(self) -> bool:
        return True

    def read(self, until: float) -> np.ndarray:
        if not math.isfinite(until):
            return np.zeros(0, dtype=np.float32)
        wanted = round(until * SAMPLE_RATE) - self._origin - self._position
        parts = []
        while wanted > 0:
            while len(self._buffer) < wanted and self._more():
                pass
            part = self._buffer[:wanted]
            self._buffer = self._buffer[len(part):]
            self._position += len(part)
            wanted -= len(part)
            parts.append(part)
            if wanted > 0:  # the track ended
                if not self.loop or self._position == 0:
                    parts.append(np.zeros(wanted, dtype=np.float32))  # silence after it
                    self._position += wanted
                    break
                self._origin += self._position
                self._position = 0
                self._chunks.close()
                self._chunks = _decoded(self.path)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def _more(self) -> bool:
        try:
            self._buffer = np.concatenate((self._buffer, next(self._chunks)))
            return True
        except StopIteration:
            return False

    def close(self) -> None:
        self._chunks.close()


class LiveAudio:
    """A sound card's input through PortAudio (``sounddevice``), mono at SAMPLE_RATE."""

    def __init__(self, device: int | str | None) -> None:
        try:
            import sounddevice
        except OSError as exc:  # the PortAudio library is missing
            raise AudioError(f"audio input: PortAudio is not installed ({exc}); install libportaudio2") from None
        self._ring = np.zeros(round(RING_SECONDS * SAMPLE_RATE), dtype=np.float32)
        self._written = 0  # samples the callback has put in the ring, ever
        self._read = 0
        self._last_block = time.monotonic()
        self.overruns = 0  # blocks PortAudio lost (the machine was too busy)
        self.dropped = 0  # samples the frame thread took too late to read
        try:
            info = sounddevice.query_devices(device, "input")
            self.name = str(info["name"])
            self._stream = sounddevice.InputStream(device=device, channels=1, samplerate=SAMPLE_RATE,
                                                   dtype="float32", callback=self._callback)
            self._stream.start()
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise AudioError(f"audio input {device if device is not None else '(default)'}: "
                             f"cannot open ({str(exc).splitlines()[0]})") from None
        log.info("audio input: %s at %d Hz", self.name, SAMPLE_RATE)

    def _callback(self, indata: np.ndarray, frames: int, when: Any, status: Any) -> None:
        """On PortAudio's thread: copy the block into the ring; nothing else."""
        if status.input_overflow:
            self.overruns += 1
        size = len(self._ring)
        at = self._written % size
        block = indata[-size:, 0]
        first = min(len(block), size - at)
        self._ring[at:at + first] = block[:first]
        self._ring[:len(block) - first] = block[first:]
        self._written += len(block)
        self._last_block = time.monotonic()

    @property
    def alive(self) -> bool:
        return time.monotonic() - self._last_block < STALE_AFTER

    def read(self, until: float) -> np.ndarray:
        written, most = self._written, round(MOST_PER_FRAME * SAMPLE_RATE)
        if written - self._read > most:
            self.dropped += written - self._read - most
            self._read = written - most
        size = len(self._ring)
        start, count = self._read % size, written - self._read
        self._read = written
        first = min(count, size - start)
        return np.concatenate((self._ring[start:start + first], self._ring[:count - first]))

    def close(self) -> None:
        self._stream.close()


def input_devices() -> list[str]:
    """'index: name (channels, rate)' for every input device PortAudio sees (``--audio list``)."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioError(f"audio input: PortAudio is not installed ({exc}); install libportaudio2") from None
    found = []
    for index, info in enumerate(sounddevice.query_devices()):
        if info["max_input_channels"] > 0:
            found.append(f"{index}: {info['name']} ({info['max_input_channels']} in, "
                         f"{info['default_samplerate']:g} Hz)")
    return found


def open_source(spec: str, loop: bool) -> AudioSource:
    """``--audio SPEC``: an existing file, else a device index or name ("" for the default)."""
    path = Path(spec)
    if spec and path.is_file():
        return FileAudio(path, loop=loop)
    if spec and (path.suffix or "/" in spec):
        raise AudioError(f"{spec}: no such audio file")
    device: int | str | None = int(spec) if spec.isdigit() else (spec or None)
    return LiveAudio(device)

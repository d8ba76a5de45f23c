"""A track muxed beside the frames: sample-aligned, and exactly as long as the video.

Frame i of the video is at i / fps, and so is the audio at that time: the track starts with
frame 0 and is encoded a frame's worth at a time as frames are written, so the container
interleaves them as it goes; at the end it is cut, or padded with silence, to the video's
length. AAC in MP4 (what every player plays), 24-bit PCM in MOV and MKV (what an editor
wants), and a WAV beside a PNG sequence.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from engine.record.errors import RecordError

RATE = 48_000
AAC_BITRATE = 256_000


def audio_codec(suffix: str) -> str:
    return "aac" if suffix == ".mp4" else "pcm_s24le" if suffix in (".mov", ".mkv") else "pcm_s16le"


class Soundtrack:
    """Encodes ``source`` into ``container`` in step with the video written beside it."""

    def __init__(self, container: Any, source: Path, suffix: str) -> None:
        self.source = Path(source)
        try:
            self._input = av.open(str(self.source))
            if not self._input.streams.audio:
                raise RecordError(f"{self.source}: no audio stream in the file")
            self._stream = container.add_stream(audio_codec(suffix), rate=RATE, layout="stereo")
        except (OSError, av.error.FFmpegError) as exc:
            raise RecordError(f"{self.source}: cannot read the soundtrack "
                              f"({getattr(exc, 'strerror', None) or exc})") from None
        if suffix == ".mp4":
            self._stream.bit_rate = AAC_BITRATE
        self._format = self._stream.codec_context.format.name
        self._resampler = av.AudioResampler(format=self._format, layout="stereo", rate=RATE)
        self._frames = self._decoded()
        self._pending = np.zeros((2, 0), dtype=self._dtype())
        self._written = 0  # samples encoded

    def _dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self._format.startswith("flt") else np.dtype(np.int32) \
            if self._format.startswith("s32") else np.dtype(np.int16)

    def _decoded(self) -> Any:
        try:
            for frame in self._input.decode(audio=0):
                for out in self._resampler.resample(frame):
                    yield out.to_ndarray().reshape(2, -1) if out.format.is_planar else out.to_ndarray().reshape(-1, 2).T
            for out in self._resampler.resample(None):
                yield out.to_ndarray().reshape(2, -1) if out.format.is_planar else out.to_ndarray().reshape(-1, 2).T
        except (OSError, av.error.FFmpegError) as exc:
            raise RecordError(f"{self.source}: cannot decode the soundtrack "
                              f"({getattr(exc, 'strerror', None) or exc})") from None

    def packets(self, until: Fraction) -> list[Any]:
        """Encoded packets for the track up to ``until`` seconds (the end of the last frame written)."""
        end = round(until * RATE)
        while self._pending.shape[1] < end - self._written:
            chunk = next(self._frames, None)
            if chunk is None:  # the track ended before the video: silence
                gap = end - self._written - self._pending.shape[1]
                chunk = np.zeros((2, gap), dtype=self._pending.dtype)
            self._pending = np.concatenate((self._pending, chunk.astype(self._pending.dtype, copy=False)), axis=1)
        count = end - self._written
        if count <= 0:
            return []
        samples, self._pending = self._pending[:, :count], self._pending[:, count:]
        planar = self._format.endswith("p")
        data = np.ascontiguousarray(samples if planar else samples.T.reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(data, format=self._format, layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self._written
        self._written = end
        return list(self._stream.encode(frame))

    def finish(self, until: Fraction) -> list[Any]:
        """The last packets: the track cut or padded to ``until`` seconds, and the encoder flushed."""
        packets = self.packets(until) + list(self._stream.encode(None))
        self._frames.close()
        self._input.close()
        return packets


def write_wav(path: Path, source: Path, seconds: Fraction) -> None:
    """``source`` as a WAV of exactly ``seconds`` (beside a PNG sequence, for an editor)."""
    try:
        with av.open(str(path), "w") as container:
            track = Soundtrack(container, source, ".wav")
            for packet in track.finish(seconds):
                container.mux(packet)
    except (OSError, av.error.FFmpegError) as exc:
        raise RecordError(f"{path}: cannot write the soundtrack ({getattr(exc, 'strerror', None) or exc})") from None

"""Where finished frames go: a numbered PNG sequence or a video file.

Video is frame-exact: the stream's time base is 1/fps and frame i has pts i, so a player
shows frame i at exactly i / fps and the file holds exactly the frames written.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import numpy as np
from PIL import Image

from engine.record.codecs import Delivery, DeliveryError, video_codec
from engine.record.errors import RecordError
from engine.record.fragments import FragmentFile
from engine.record.soundtrack import Soundtrack, write_wav

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
BT709 = 1  # ISO/IEC 23091-4 code for BT.709 primaries, transfer and matrix


class FrameSink(Protocol):
    """Takes (H, W, 3) uint8 RGB frames in order (and, where ``accepts_yuv420``, yuv420p
    frames already converted on the GPU: (H * 3 // 2, W) uint8, BT.709 limited range)."""

    path: Path
    frames_written: int
    accepts_yuv420: bool

    @property
    def frames_on_disk(self) -> int:
        """Frames the output holds now, as a player will show them."""

    def convert(self, frame: np.ndarray) -> object:
        """The frame in the form :meth:`write` stores; thread-safe, so a writer can run it
        one stage ahead (engine.record.writer)."""

    def write(self, frame: object) -> None: ...

    def close(self) -> None: ...


class VideoFile:
    """A video file written through PyAV (FFmpeg in the wheel).

    Args:
        path: .mp4 (H.264), .mov (ProRes 4444) or .mkv (FFV1), or what ``delivery`` says.
        fps: frames per second (a Fraction or float; 29.97 -> 30000/1001).
        size: (width, height); 4:2:0 codecs need both even.
        quality: "final" or "live" (see :func:`engine.record.codecs.video_codec`).
        fragmented: live recording: an MP4/MOV written one whole fragment (about a second)
            at a time, so the file plays to its last fragment if the process dies or the
            disk fills (engine.record.fragments); Matroska plays to its last frame anyway.
        delivery: codec and quality settings, and a soundtrack to mux (renders).
    """

    def __init__(self, path: Path, fps: float | Fraction, size: tuple[int, int],
                 quality: str = "final", fragmented: bool = False, delivery: Delivery = Delivery()) -> None:
        self.path = Path(path)
        self.frames_written = 0  # frames handed to the encoder
        self._complete = False
        width, height = size
        suffix = self.path.suffix.lower()
        try:
            spec = video_codec(suffix, quality, delivery, size, float(fps))
        except DeliveryError as exc:
            raise RecordError(f"{self.path}: {exc}") from None
        if spec.pix_fmt in ("yuv420p", "yuv422p10le") and (width % 2 or height % 2):
            raise RecordError(f"{self.path}: {spec.codec} needs an even width and height, got {width}x{height}")
        rate = Fraction(fps).limit_denominator(1001)
        self._rate = rate
        self._soundtrack: Soundtrack | None = None
        self._fragments: FragmentFile | None = None
        codec_options = dict(spec.options)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fragmented and suffix in (".mp4", ".mov"):
                self._fragments = FragmentFile(self.path)
                self._container = av.open(self._fragments, mode="w", format=suffix[1:],
                                          options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
                codec_options["g"] = str(max(1, round(rate)))  # a keyframe, so a fragment, each second
            else:
                self.path.open("ab").close()  # FFmpeg opens the file at the first write: fail now instead
                self._container = av.open(str(self.path), mode="w")
            self._stream = self._container.add_stream(spec.codec, rate=rate, options=codec_options)
            if spec.tag:
                self._stream.codec_tag = spec.tag
            if spec.bit_rate:
                self._stream.bit_rate = spec.bit_rate
            if delivery.soundtrack is not None:
                self._soundtrack = Soundtrack(self._container, delivery.soundtrack, suffix)
        except (OSError, av.error.FFmpegError) as exc:
            raise RecordError(f"{self.path}: cannot open for writing ({getattr(exc, 'strerror', None) or exc})") from None
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = spec.pix_fmt
        self._stream.time_base = 1 / rate
        codec = self._stream.codec_context
        codec.time_base = 1 / rate
        tag_bt709(codec)
        self.accepts_yuv420 = spec.pix_fmt == "yuv420p"

    @property
    def frames_on_disk(self) -> int:
        """Frames the file holds now, as a plain decoder will play them."""
        if self._fragments is not None:
            return self._fragments.samples
        if self._complete:
            return self.frames_written
        return count_frames(self.path) if self.path.suffix.lower() == ".mkv" else 0

    def convert(self, frame: np.ndarray) -> av.VideoFrame:
        """An RGB frame, or yuv420p planes converted on the GPU (engine.render.yuv), as the
        encoder's picture."""
        if frame.ndim == 2:
            return av.VideoFrame.from_ndarray(frame, format="yuv420p")
        video = av.VideoFrame.from_ndarray(frame, format="rgb24")
        return video.reformat(format=self._stream.pix_fmt, dst_colorspace="itu709")

    def write(self, frame: np.ndarray | av.VideoFrame) -> None:
        video = frame if isinstance(frame, av.VideoFrame) else self.convert(frame)
        video.pts = self.frames_written
        try:
            self._container.mux(self._stream.encode(video))
            if self._soundtrack is not None:  # the audio up to the end of this frame, interleaved
                self._container.mux(self._soundtrack.packets((self.frames_written + 1) / self._rate))
        except (OSError, av.error.FFmpegError) as exc:
            raise RecordError(f"{self.path}: write failed at frame {self.frames_written} "
                              f"({getattr(exc, 'strerror', None) or exc})") from None
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and write the trailer; RecordError (one line) if any of it failed."""
        problem = None
        try:
            self._container.mux(self._stream.encode(None))
            if self._soundtrack is not None:  # exactly as long as the video
                self._container.mux(self._soundtrack.finish(self.frames_written / self._rate))
        except (OSError, av.error.FFmpegError, RecordError) as exc:
            problem = getattr(exc, "strerror", None) or str(exc)
        try:
            self._container.close()
        except (OSError, av.error.FFmpegError) as exc:
            problem = problem or getattr(exc, "strerror", None) or str(exc)
        finally:
            if self._fragments is not None:
                self._fragments.close()
        if problem is not None:
            raise RecordError(f"{self.path}: finishing the file failed ({problem}); "
                              f"it holds {self.frames_on_disk} of {self.frames_written} frames")
        self._complete = True


def tag_bt709(codec: av.codec.context.CodecContext) -> None:
    """Mark a video stream BT.709, limited ("TV") range: what players expect of H.264/ProRes."""
    codec.color_primaries = codec.color_trc = codec.colorspace = BT709
    codec.color_range = 1


def count_frames(path: Path) -> int:
    """Frames a plain decoder gets from ``path`` (0 if it cannot be read at all)."""
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except (OSError, av.error.FFmpegError):
        pass
    return count


class PngSequence:
    """Frames as ``000000.png, 000001.png, ...`` in a directory.

    Each file is written to a temporary name and renamed, so a crash never leaves a
    truncated frame behind; two worker threads compress in parallel (zlib drops the GIL).
    """

    accepts_yuv420 = False

    def convert(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def __init__(self, directory: Path, compress_level: int = 1, workers: int = 2,
                 fps: Fraction = Fraction(30), soundtrack: Path | None = None) -> None:
        """``soundtrack``: written beside the frames as soundtrack.wav, as long as they are."""
        self.path = Path(directory)
        self.fps = Fraction(fps)
        self.soundtrack = soundtrack
        self.frames_written = 0
        self.frames_on_disk = 0  # files saved whole
        self._saved_lock = threading.Lock()
        self.compress_level = compress_level
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordError(f"{self.path}: cannot create directory ({exc.strerror})") from None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="png")
        self._pending: list[Future[None]] = []

    def write(self, frame: np.ndarray) -> None:
        self._raise_failures(wait=len(self._pending) > 4)
        target = self.path / f"{self.frames_written:06d}.png"
        self._pending.append(self._pool.submit(self._save, np.array(frame), target))
        self.frames_written += 1

    def _save(self, frame: np.ndarray, target: Path) -> None:
        temporary = target.with_suffix(".png.tmp")
        try:
            Image.fromarray(frame).save(temporary, format="PNG", compress_level=self.compress_level)
            os.replace(temporary, target)
            with self._saved_lock:
                self.frames_on_disk += 1
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise RecordError(f"{target}: write failed ({exc.strerror or exc})") from None

    def _raise_failures(self, wait: bool) -> None:
        if wait:
            self._pending[0].result()
        still = []
        for future in self._pending:
            if future.done():
                future.result()  # re-raises a RecordError from the worker
            else:
                still.append(future)
        self._pending = still

    def close(self) -> None:
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pool.shutdown(wait=True)
            self._pending.clear()
        if self.soundtrack is not None:
            write_wav(self.path / "soundtrack.wav", self.soundtrack, self.frames_written / self.fps)


def open_sink(path: str | Path, fps: float | Fraction, size: tuple[int, int],
              quality: str = "final", fragmented: bool = False, delivery: Delivery = Delivery()) -> FrameSink:
    """A video file for .mp4/.mov/.mkv, otherwise a PNG sequence in the directory ``path``."""
    target = Path(path)
    if target.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFile(target, fps, size, quality, fragmented, delivery)
    if target.suffix:
        raise RecordError(f"{target}: unknown output type {target.suffix!r}; use a directory "
                          f"(PNG frames) or one of {', '.join(VIDEO_SUFFIXES)}")
    if delivery.codec or delivery.crf is not None or delivery.preset or delivery.bitrate:
        raise RecordError(f"{target}: codec settings are for video files; PNG frames are lossless")
    return PngSequence(target, fps=Fraction(fps).limit_denominator(1001), soundtrack=delivery.soundtrack)

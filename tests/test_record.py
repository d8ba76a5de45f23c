"""Sinks write real files that decode back to the frames given; failures are one clear line."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from engine.record import AsyncWriter, PngSequence, RecordError, open_sink
from engine.record.codecs import Delivery, delivery_cap
from helpers import decode


def _gradient(i: int, w: int = 128, h: int = 96) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    frame = np.stack([(x * 2 + i * 8) % 256, (y * 2) % 256, np.full_like(x, 100 + i)], axis=-1)
    return frame.astype(np.uint8)


@pytest.mark.parametrize("suffix,codec,pix_fmt", [
    (".mp4", "h264", "yuv420p"), (".mov", "prores", "yuva444p"), (".mkv", "ffv1", "yuv444p")])
def test_video_files_decode_to_the_frames_written(tmp_path, suffix, codec, pix_fmt):
    path = tmp_path / f"clip{suffix}"
    sink = open_sink(path, Fraction(30000, 1001), (128, 96))
    for i in range(12):
        sink.write(_gradient(i))
    sink.close()
    frames, info = decode(path)
    assert len(frames) == 12
    assert (info["codec"], info["width"], info["height"]) == (codec, 128, 96)
    assert info["pix_fmt"].startswith(pix_fmt)  # ProRes decodes our 10-bit 4444 as 12-bit
    assert info["fps"] == Fraction(30000, 1001)
    error = np.abs(frames[5].astype(int) - _gradient(5)).mean()
    assert error < (3.0 if suffix == ".mp4" else 1.5)


@pytest.mark.parametrize("suffix,delivery,codec,tag", [
    (".mp4", Delivery(codec="h265"), "hevc", "hvc1"), (".mov", Delivery(codec="prores"), "prores", "apch"),
    (".mkv", Delivery(codec="h264", crf=10, preset="fast"), "h264", None), (".mov", Delivery(codec="ffv1"), None, None)])
def test_each_codec_goes_in_the_containers_that_carry_it(tmp_path, suffix, delivery, codec, tag):
    path = tmp_path / f"clip{suffix}"
    if codec is None:  # FFV1 in a QuickTime file: no editor reads it, so it is refused in one line
        with pytest.raises(RecordError, match="ffv1 does not go in a .mov file; use .mkv"):
            open_sink(path, 30, (128, 96), delivery=delivery)
        return
    sink = open_sink(path, 30, (128, 96), delivery=delivery)
    for i in range(8):
        sink.write(_gradient(i))
    sink.close()
    frames, info = decode(path)
    assert len(frames) == 8 and info["codec"] == codec
    if tag:
        import av
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_tag == tag  # what QuickTime looks for
    assert np.abs(frames[3].astype(int) - _gradient(3)).mean() < 3.0


def _grain(i: int) -> np.ndarray:
    """A gradient under heavy film grain: noise no encoder can keep at a delivery bitrate."""
    rng = np.random.default_rng(i)
    base = np.repeat(_gradient(i, 320, 180)[..., :1], 3, axis=-1).astype(float)
    return np.clip(base + rng.normal(0, 24, base.shape), 0, 255).astype(np.uint8)


def test_the_default_mp4_is_capped_for_delivery_and_a_crf_asked_for_is_not(tmp_path):
    rates = {}
    for name, delivery in (("default", Delivery()), ("crf20", Delivery(crf=20)), ("bitrate", Delivery(bitrate=200_000))):
        path = tmp_path / f"{name}.mp4"
        sink = open_sink(path, 30, (320, 180), delivery=delivery)
        for i in range(60):
            sink.write(_grain(i))
        sink.close()
        frames, _ = decode(path)
        assert len(frames) == 60
        rates[name] = path.stat().st_size * 8 / 2.0  # bits a second over the 2 s
    cap = delivery_cap((320, 180), 30)
    # The encoder's buffer (twice the cap) may be spent at once: 2 s carry at most 2 + 2 s of the cap.
    assert rates["default"] <= cap * (2 + 2) / 2 < rates["crf20"]  # uncapped, the grain takes over twice the cap
    assert rates["default"] < rates["crf20"] / 2 and rates["bitrate"] < 2 * 200_000


def test_png_sequence_is_lossless_and_numbered(tmp_path):
    sink = PngSequence(tmp_path / "frames")
    for i in range(5):
        sink.write(_gradient(i))
    sink.close()
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"{i:06d}.png" for i in range(5)]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "frames" / "000003.png")), _gradient(3))


def test_h264_refuses_odd_sizes_with_one_line(tmp_path):
    with pytest.raises(RecordError) as exc:
        open_sink(tmp_path / "odd.mp4", 30, (101, 50))
    assert "even width and height" in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(RecordError) as exc:
        open_sink(tmp_path / "clip.gif", 30, (64, 64))
    assert "unknown output type '.gif'" in str(exc.value)


class _FailingSink:
    """A sink whose disk fills after ``room`` frames (what ENOSPC looks like to the writer)."""

    def __init__(self, path, room: int) -> None:
        self.path, self.room, self.frames_written, self.closed = path, room, 0, False

    def write(self, frame):
        if self.frames_written >= self.room:
            raise OSError(28, "No space left on device")
        self.frames_written += 1

    def close(self):
        self.closed = True


def test_writer_stops_cleanly_when_the_disk_fills(tmp_path):
    sink = _FailingSink(tmp_path / "x.mp4", room=3)
    writer = AsyncWriter(sink, capacity=4)
    accepted = [writer.submit(_gradient(i), block=True) for i in range(20)]
    writer.close()
    assert sink.frames_written == 3 and sink.closed
    assert writer.error == f"{tmp_path / 'x.mp4'}: No space left on device"
    assert accepted[:3] == [True] * 3 and accepted[-1] is False


def test_non_blocking_submit_drops_instead_of_waiting(tmp_path):
    import threading

    release = threading.Event()

    class SlowSink(_FailingSink):
        def write(self, frame):
            release.wait(5)
            super().write(frame)

    writer = AsyncWriter(SlowSink(tmp_path / "slow", room=100), capacity=2)
    results = [writer.submit(_gradient(0), block=False) for _ in range(10)]
    release.set()
    writer.close()
    assert results.count(False) >= 7 and writer.dropped == results.count(False)

"""Delivery settings: which codec, at what quality, for which container.

An editor expects H.264 or H.265 at a sensible bitrate for a preview or the web, ProRes for
the edit, FFV1 for an archive, and the usual knobs (``--crf``, ``--preset``, ``--bitrate``).
The default for ``.mp4`` is sized for delivery: capped constant quality, H.264 CRF 20 ``medium``
never over 12 Mbit/s at 1080p30 (the cap scales with pixels a second). Film grain is noise no
encoder can keep pixel for pixel at a delivery bitrate, so uncapped CRF spends most of its bits
on it: on 10 s of the default show at 1080p30 (``python benchmarks/delivery.py``) CRF 16
``medium``, the first wave's default, wrote 34.9 Mbit/s, CRF 20 ``slow`` 21.2, the capped default
7.6, with the picture under the grain (4x4 means) at 47.0 dB PSNR against the lossless frames
(49.7 at CRF 16). Under the cap ``slow`` gave the same bits and picture at half the speed, so
the default stays ``medium``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CODECS = ("h264", "h265", "prores", "prores4444", "ffv1")
BY_SUFFIX = {".mp4": "h264", ".mov": "prores4444", ".mkv": "ffv1"}
CONTAINERS = {  # which codecs each container carries (as players and editors expect them)
    ".mp4": ("h264", "h265"),
    ".mov": ("h264", "h265", "prores", "prores4444"),
    ".mkv": CODECS,
}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_CRF = {"h264": 20, "h265": 24}  # about the same picture; H.265 in two thirds of the bits
DEFAULT_PRESET = "medium"
CAP_1080P30 = 12_000_000  # bits a second at most for 1920x1080 at 30 fps, scaled by pixels a second
LIVE_PRESET = "ultrafast"  # recording while playing: time matters more than bits


class DeliveryError(ValueError):
    """Settings that do not go together; ``str()`` is one line."""


@dataclass(frozen=True)
class Delivery:
    """How a render is encoded. None means: the default for the file's suffix."""

    codec: str | None = None
    crf: int | None = None  # constant quality (H.264/H.265): lower is better, 0 lossless
    preset: str | None = None  # x264/x265 speed against size
    bitrate: int | None = None  # bits a second instead of constant quality
    soundtrack: Path | None = None  # audio muxed beside the frames (engine.record.soundtrack)

    def codec_for(self, suffix: str) -> str:
        """The codec for a file with ``suffix``; DeliveryError when the two do not go together."""
        codec = self.codec or BY_SUFFIX[suffix]
        if codec not in CONTAINERS[suffix]:
            raise DeliveryError(f"{codec} does not go in a {suffix} file; use "
                                f"{' or '.join(s for s, codecs in CONTAINERS.items() if codec in codecs)}")
        if (self.crf is not None or self.preset is not None or self.bitrate is not None) and codec not in DEFAULT_CRF:
            raise DeliveryError(f"--crf, --preset and --bitrate are for h264 and h265; {codec} has its own quality")
        if self.crf is not None and self.bitrate is not None:
            raise DeliveryError("give --crf or --bitrate, not both")
        return codec


@dataclass(frozen=True)
class VideoCodec:
    codec: str
    pix_fmt: str
    options: dict[str, str]
    tag: str | None = None  # the fourcc players look for (H.265 in MP4/MOV: hvc1, for QuickTime)
    bit_rate: int | None = None


def delivery_cap(size: tuple[int, int], fps: float) -> int:
    """The default bitrate cap for ``size`` at ``fps``: CAP_1080P30 scaled by pixels a second."""
    return round(CAP_1080P30 * size[0] * size[1] / (1920 * 1080) * float(fps) / 30.0)


def video_codec(suffix: str, quality: str, delivery: Delivery = Delivery(),
                size: tuple[int, int] = (1920, 1080), fps: float = 30.0) -> VideoCodec:
    """The encoder, pixel format and options for a ``suffix`` file of ``size`` at ``fps``.

    ``quality`` "final" (renders) uses the delivery settings; "live" (recording while
    playing) uses the fastest preset, since the display must not wait for the encoder.
    """
    codec = delivery.codec_for(suffix)
    if codec == "prores":
        return VideoCodec("prores_ks", "yuv422p10le", {"profile": "3", "vendor": "apl0"})  # 422 HQ
    if codec == "prores4444":
        return VideoCodec("prores_ks", "yuva444p10le", {"profile": "4", "vendor": "apl0"})
    if codec == "ffv1":
        return VideoCodec("ffv1", "yuv444p", {"level": "3"})
    preset = LIVE_PRESET if quality == "live" else (delivery.preset or DEFAULT_PRESET)
    options = {"preset": preset}
    if delivery.bitrate is None:
        options["crf"] = str(DEFAULT_CRF[codec] if delivery.crf is None else delivery.crf)
        if delivery.crf is None and quality == "final":  # a CRF asked for is honoured uncapped
            cap = delivery_cap(size, fps)
            options.update(maxrate=str(cap), bufsize=str(2 * cap))
    else:
        options.update(maxrate=str(delivery.bitrate), bufsize=str(2 * delivery.bitrate))
    if codec == "h265":
        options["x265-params"] = "log-level=error"
        return VideoCodec("libx265", "yuv420p", options, "hvc1", delivery.bitrate)
    if quality == "live" and delivery.crf is None and delivery.bitrate is None:
        options["crf"] = "16"  # ultrafast at the final CRF would look worse than the show
    return VideoCodec("libx264", "yuv420p", options, None, delivery.bitrate)

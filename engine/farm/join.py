"""The chunks joined into the render, without encoding anything again.

A video chunk is a complete file whose first frame is a keyframe that nothing before it refers
to (each chunk is its own encode, so every group of pictures is closed): its packets are copied
into the output with their times moved by the chunk's first frame. PNG frames are renamed.
The soundtrack is muxed here, once, in step with the video as a local render does.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av

from engine.farm.errors import FarmError
from engine.record.soundtrack import Soundtrack, write_wav
from engine.record.sinks import tag_bt709


def join_video(segments: Iterable[tuple[int, Path]], output: Path, fps: Fraction, frames: int,
               soundtrack: Path | None = None) -> int:
    """Copy each (first frame, segment file)'s packets into ``output``, in order; returns the frames joined."""
    rate = Fraction(fps).limit_denominator(1001)
    frame_time = Fraction(1) / rate
    joined = 0
    try:
        with av.open(str(output), mode="w") as container:
            stream = track = extradata = None
            for first, path in segments:
                with av.open(str(path)) as segment:
                    source = segment.streams.video[0]
                    if stream is None:
                        stream = container.add_stream_from_template(source)
                        stream.time_base = frame_time
                        tag_bt709(stream.codec_context)  # as a local render tags it
                        extradata = source.codec_context.extradata
                        if soundtrack is not None:
                            track = Soundtrack(container, soundtrack, output.suffix.lower())
                    elif source.codec_context.extradata != extradata:
                        raise FarmError(f"{path.name}: its encoder settings differ from the first chunk's; "
                                        "every worker must run the same Vernissage and FFmpeg")
                    copied = 0
                    for packet in segment.demux(source):
                        if packet.pts is None:  # the demuxer's end-of-stream marker
                            continue
                        pts = round(packet.pts * source.time_base / frame_time)
                        dts = round(packet.dts * source.time_base / frame_time) if packet.dts is not None else pts
                        packet.pts, packet.dts = first + pts, first + dts
                        if packet.duration:
                            packet.duration = round(packet.duration * source.time_base / frame_time)
                        packet.time_base = frame_time
                        packet.stream = stream
                        container.mux(packet)
                        copied += 1
                joined += copied
                if track is not None:  # the music up to the end of this chunk, interleaved
                    container.mux(track.packets((first + copied) * frame_time))
            if track is not None:
                container.mux(track.finish(frames * frame_time))
    except (OSError, av.error.FFmpegError) as exc:
        raise FarmError(f"{output}: joining the chunks failed ({getattr(exc, 'strerror', None) or exc})") from None
    return joined


def write_frames(first: int, frames: tuple[bytes, ...], folder: Path) -> None:
    """A chunk's PNG frames as ``folder``'s frames ``first``, ``first + 1``, ... (named as a local render names them)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(frames):
            target = folder / f"{first + i:06d}.png"
            temporary = target.with_suffix(".png.tmp")
            temporary.write_bytes(data)
            temporary.replace(target)
    except OSError as exc:
        raise FarmError(f"{folder}: writing frames failed ({exc.strerror or exc})") from None


def write_soundtrack(folder: Path, track: Path, seconds: Fraction) -> None:
    """The track beside PNG frames, as long as they are (as a local render writes it)."""
    write_wav(folder / "soundtrack.wav", track, seconds)

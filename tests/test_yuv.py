"""The GPU's RGB -> yuv420p conversion for live H.264 recording, checked against FFmpeg's."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from engine.outputs.recorder import LiveRecorder
from engine.render.yuv import Yuv420Pass, supports_yuv420

SIZE = (320, 176)


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """Smooth colour, like an upscaled face, with every hue and both extremes of range."""
    coarse = (np.random.default_rng(3).random((11, 20, 3)) * 255).astype(np.uint8)
    coarse[0, 0], coarse[-1, -1] = 0, 255
    return np.asarray(Image.fromarray(coarse).resize(SIZE, Image.BICUBIC))


def _framebuffer(gl, picture: np.ndarray, flipped: bool):
    rows = picture[::-1] if flipped else picture
    return gl.framebuffer([gl.texture(SIZE, 3, np.ascontiguousarray(rows).tobytes())])


def _swscale(picture: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
    return frame.reformat(format="yuv420p", dst_colorspace="itu709").to_ndarray()


@pytest.mark.parametrize("flipped", [False, True])
def test_gpu_planes_match_ffmpeg_within_rounding(gl, picture, flipped):
    conversion = Yuv420Pass(gl, SIZE, flipped)
    planes = np.frombuffer(conversion.convert(_framebuffer(gl, picture, flipped)).read(components=4, alignment=1),
                           np.uint8).reshape(SIZE[1] * 3 // 2, SIZE[0]).astype(int)
    conversion.release()
    reference = _swscale(picture).astype(int)
    luma, chroma = np.abs(planes - reference)[:SIZE[1]], np.abs(planes - reference)[SIZE[1]:]
    assert luma.max() <= 1 and chroma.max() <= 2
    assert luma.mean() < 0.05 and chroma.mean() < 0.5
    assert planes[:SIZE[1]].min() >= 16 and planes[:SIZE[1]].max() <= 235  # limited range


def test_sizes_the_shader_cannot_pack_are_refused():
    assert supports_yuv420((1280, 720)) and supports_yuv420((1920, 1080)) and supports_yuv420((3840, 2160))
    assert not supports_yuv420((1366, 768)) and not supports_yuv420((320, 178))


def _record(gl, picture, path, gpu_yuv: bool) -> list[np.ndarray]:
    source = _framebuffer(gl, picture, flipped=True)
    recorder = LiveRecorder(gl, path, 30, SIZE, flipped=True, gpu_yuv=gpu_yuv)
    assert (recorder._yuv is not None) == gpu_yuv
    for _ in range(5):
        recorder.capture(source)
    assert recorder.stop() == 5
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_recording_through_either_conversion_decodes_to_the_picture(gl, picture, tmp_path):
    errors = {}
    for gpu_yuv in (True, False):
        decoded = _record(gl, picture, tmp_path / f"clip-{gpu_yuv}.mp4", gpu_yuv)
        assert len(decoded) == 5
        errors[gpu_yuv] = np.abs(decoded[-1].astype(int) - picture).mean()
    # 4:2:0 loses chroma at this picture's saturated edges (~3 levels); the GPU path adds nothing
    assert errors[False] < 5.0 and errors[True] < errors[False] + 0.25

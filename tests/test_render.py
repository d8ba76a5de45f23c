"""The shader pipeline on a real EGL context: quality against PIL, letterbox, look, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.frames import Look
from engine.render.renderer import Renderer
from engine.render.settings import RenderSettings


@pytest.fixture(scope="module")
def face(generator) -> np.ndarray:
    from engine.latent import latent_from_seed

    return generator.frames(latent_from_seed(5, 100)).numpy()[0]


def _render(gl, settings, image, look=Look(), index=0) -> np.ndarray:
    with Renderer(gl, settings, (image.shape[1], image.shape[0])) as renderer:
        renderer.upload(image)
        renderer.render(look, index)
        return renderer.read().copy()


def test_renderer_reports_real_gl(gl):
    assert gl.version_code >= 330
    assert gl.info["GL_RENDERER"]


@pytest.mark.parametrize("filter_name", ["lanczos", "bicubic"])
def test_upscale_matches_pil(gl, face, filter_name):
    out = _render(gl, RenderSettings(1920, 1080, filter=filter_name), face)
    pil = Image.LANCZOS if filter_name == "lanczos" else Image.BICUBIC
    reference = np.asarray(Image.fromarray(face).resize((1080, 1080), pil)).astype(int)
    diff = np.abs(out[:, 420:1500].astype(int) - reference)
    assert diff.mean() < 0.5 and diff.max() <= 8


def test_lanczos_is_sharper_than_bilinear(gl, face):
    out = _render(gl, RenderSettings(1080, 1080), face).astype(int)
    bilinear = np.asarray(Image.fromarray(face).resize((1080, 1080), Image.BILINEAR)).astype(int)
    lanczos = np.asarray(Image.fromarray(face).resize((1080, 1080), Image.LANCZOS)).astype(int)
    assert np.abs(out - lanczos).mean() < 0.5 * np.abs(out - bilinear).mean()


def test_contain_letterboxes_and_cover_fills(gl, face):
    contain = _render(gl, RenderSettings(1920, 1080, fit="contain"), face)
    assert contain[:, :419].max() == 0 and contain[:, 1501:].max() == 0
    assert contain[:, 421:1499].mean() > 20
    cover = _render(gl, RenderSettings(1920, 1080, fit="cover"), face)
    assert cover[:, :10].mean() > 5 and cover[:, -10:].mean() > 5
    # Cover crops top and bottom: the centre row of both is the face's centre row.
    assert np.abs(cover[540, 960].astype(int) - contain[540, 960].astype(int)).max() <= 3


def test_portrait_output_letterboxes_top_and_bottom(gl, face):
    out = _render(gl, RenderSettings(720, 1280), face)
    assert out[:279].max() == 0 and out[1001:].max() == 0 and out[300:980].mean() > 20


def test_background_colour_fills_the_letterbox(gl, face):
    out = _render(gl, RenderSettings(400, 200, background=(1.0, 0.0, 0.0)), face)
    assert tuple(out[100, 5]) == (255, 0, 0)


def test_same_frame_same_pixels_including_grain(gl, face):
    look = Look(grain=0.05, vignette=0.5, contrast=1.2)
    a = _render(gl, RenderSettings(640, 360), face, look, index=7)
    b = _render(gl, RenderSettings(640, 360), face, look, index=7)
    assert np.array_equal(a, b)
    c = _render(gl, RenderSettings(640, 360), face, look, index=8)
    assert not np.array_equal(a, c)  # grain moves from frame to frame


def test_grain_has_the_asked_strength(gl):
    grey = np.full((64, 64, 3), 128, np.uint8)
    out = _render(gl, RenderSettings(256, 256), grey, Look(grain=0.04)).astype(float)
    assert abs(out.std() - 0.04 * 255) < 1.5
    assert abs(out.mean() - 128) < 1.5


def test_vignette_darkens_corners_only(gl):
    grey = np.full((64, 64, 3), 200, np.uint8)
    out = _render(gl, RenderSettings(640, 640), grey, Look(vignette=1.0)).astype(float)
    assert out[320, 320].mean() > 195 and out[5, 5].mean() < 120


def test_brightness_zero_is_black_and_grade_changes_pixels(gl, face):
    settings = RenderSettings(320, 180)
    assert _render(gl, settings, face, Look(brightness=0.0)).max() == 0
    plain = _render(gl, settings, face)
    grey = _render(gl, settings, face, Look(saturation=0.0))
    assert np.abs(grey[..., 0].astype(int) - grey[..., 1]).max() <= 1
    assert np.abs(plain[..., 0].astype(int) - plain[..., 1]).max() > 20
    brighter = _render(gl, settings, face, Look(exposure=0.5))
    assert brighter[:, 90:230].mean() > plain[:, 90:230].mean() + 10


def test_downscaling_is_filtered(gl):
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes alias badly without a low-pass
    out = _render(gl, RenderSettings(16, 16), stripes).astype(float)
    assert abs(out.mean() - 127.5) < 6 and out.std() < 10


def test_blend_mixes_two_generated_frames(gl):
    dark, light = np.full((64, 64, 3), 40, np.uint8), np.full((64, 64, 3), 200, np.uint8)
    with Renderer(gl, RenderSettings(256, 256), (64, 64)) as renderer:
        renderer.upload(dark)
        renderer.upload(light, slot=1)
        means = []
        for mix in (0.0, 0.25, 1.0):
            renderer.render(Look(), 0, mix=mix)
            means.append(renderer.read().astype(float).mean())
    assert means[0] == pytest.approx(40, abs=0.5) and means[2] == pytest.approx(200, abs=0.5)
    assert means[1] == pytest.approx(80, abs=1.0)


def test_detail_limit_stays_close_to_full_lanczos(gl, face):
    full = _render(gl, RenderSettings(1920, 1080, detail=0), face).astype(int)
    fast = _render(gl, RenderSettings(1920, 1080), face).astype(int)
    assert np.abs(full - fast).mean() < 0.3


def test_letterbox_follows_grade_brightness_and_fade(gl):
    grey = np.full((64, 64, 3), 128, np.uint8)
    settings = RenderSettings(320, 160, background=(128 / 255,) * 3)
    for look, fade in [(Look(exposure=0.4, contrast=1.3, brightness=0.7), 0.0), (Look(), 0.5)]:
        with Renderer(gl, settings, (64, 64)) as renderer:
            renderer.upload(grey)
            renderer.render(look, 0, fade=fade, fade_color=(1.0, 0.0, 0.0))
            out = renderer.read().astype(int)
        assert np.abs(out[80, 5] - out[80, 160]).max() <= 1  # bar and image: the same colour


def test_cached_captions_keep_only_their_ink(gl):
    """A caption is a few hundred pixels of type: the cache holds those, not a whole frame each."""
    from engine.render.text import text_overlay

    size = (1920, 1080)
    caption = text_overlay("No. 042", "caption", size, None, 36, (1.0, 1.0, 1.0), "bottom")
    assert caption.pixels.nbytes < 0.02 * size[0] * size[1] * 4
    x, y = caption.origin
    h, w = caption.pixels.shape[:2]
    assert abs(x + w / 2 - size[0] / 2) < 4 and y + h > 0.9 * size[1]  # centred near the bottom edge
    renderer = Renderer(gl, RenderSettings(width=size[0], height=size[1]), (64, 64))
    try:
        renderer.upload(np.zeros((64, 64, 3), np.uint8))
        renderer.render(Look(), 0, overlay=caption)
        frame = renderer.read()
    finally:
        renderer.close()
    inked = np.argwhere(frame.max(axis=2) > 128)
    assert inked.size and inked[:, 0].min() >= y and inked[:, 1].min() >= x  # drawn where it belongs
    assert inked[:, 0].max() < y + h and inked[:, 1].max() < x + w


# --- the edge-adaptive upscale (--filter easu) -----------------------------------------------------

def _diagonal_edge(size: int = 32) -> np.ndarray:
    """A dark/light edge at 30 degrees: where a separable filter staircases."""
    y, x = np.mgrid[0:size, 0:size]
    light = (y - 0.58 * x) > size * 0.2
    return np.where(light[..., None], 210, 40).astype(np.uint8).repeat(3, axis=2)


def _transition_width(row: np.ndarray) -> int:
    """Pixels a profile takes to go from 10 % to 90 % of its step."""
    low, high = row.min(), row.max()
    inside = (row > low + 0.1 * (high - low)) & (row < low + 0.9 * (high - low))
    return int(inside.sum())


def test_easu_keeps_edges_narrower_than_lanczos_without_overshoot(gl):
    edge = _diagonal_edge()
    settings = {f: RenderSettings(512, 512, filter=f, detail=0) for f in ("lanczos", "easu")}
    lanczos = _render(gl, settings["lanczos"], edge).astype(int)[..., 1]
    easu = _render(gl, settings["easu"], edge).astype(int)[..., 1]
    columns = range(100, 412, 16)
    narrower = [_transition_width(easu[:, c]) < _transition_width(lanczos[:, c]) for c in columns]
    assert sum(narrower) >= 0.8 * len(narrower)
    # the upscale is clamped to its quad's range and the sharpening is bounded: less ringing
    # than Lanczos-3, which overshoots a hard step by 30-40 levels (here: 1..249 for 40..210)
    overshoot = {name: max(40 - out.min(), out.max() - 210) for name, out in (("lanczos", lanczos), ("easu", easu))}
    assert overshoot["easu"] <= 0.5 * overshoot["lanczos"]


def test_easu_leaves_flat_areas_and_a_face_close_to_lanczos(gl, face):
    flat = np.full((16, 16, 3), 117, np.uint8)
    assert np.array_equal(_render(gl, RenderSettings(256, 256, filter="easu"), flat),
                          np.full((256, 256, 3), 117, np.uint8))
    easu = _render(gl, RenderSettings(1080, 1080, filter="easu"), face).astype(int)
    lanczos = _render(gl, RenderSettings(1080, 1080, detail=0), face).astype(int)
    assert np.abs(easu - lanczos).mean() < 6  # the same picture, crisper: not another one
    assert np.abs(easu - lanczos).mean() > 0.3  # and not Lanczos under another name


def test_easu_blends_two_frames_like_the_separable_passes(gl, face):
    dark = (face // 2).astype(np.uint8)
    with Renderer(gl, RenderSettings(256, 256, filter="easu"), (face.shape[1], face.shape[0])) as renderer:
        renderer.upload(face)
        renderer.upload(dark, slot=1)
        renderer.render(Look(), 0, mix=1.0)
        mixed = renderer.read().astype(int)
    alone = _render(gl, RenderSettings(256, 256, filter="easu"), dark).astype(int)
    assert np.abs(mixed - alone).max() <= 2


@pytest.mark.parametrize("fit,bezel,look", [("contain", 0, Look(grain=0.05, vignette=0.7, contrast=1.1)),
                                            ("cover", 0, Look(grain=0.05, vignette=0.7, contrast=1.1)),
                                            ("cover", 24, Look(grain=0.05, vignette=0.7, contrast=1.1)),
                                            ("contain", 8, Look())])
def test_a_walls_tiles_side_by_side_are_the_whole_canvas(gl, face, fit, bezel, look):
    """Each screen of a 3x1 wall draws its part of one picture: grain, vignette, fade and the
    caption laid out on the canvas, so the tiles placed side by side are the canvas (within 2
    levels); with a bezel, the canvas pixels behind the frames are simply not drawn."""
    from engine.render.text import text_overlay

    w, h = 160, 270
    canvas_w = 3 * w + 2 * bezel
    caption = text_overlay("No. 000042 Never existed", "title", (canvas_w, h), None, 40, (1.0, 1.0, 1.0), "bottom")
    assert caption is not None and caption.origin[0] < w and caption.origin[0] + caption.pixels.shape[1] > 2 * w + 2 * bezel

    def draw(settings: RenderSettings) -> np.ndarray:
        with Renderer(gl, settings, (face.shape[1], face.shape[0])) as renderer:
            renderer.upload(face)
            renderer.render(look, 7, fade=0.2, fade_color=(0.1, 0.0, 0.3), overlay=caption)
            return renderer.read().astype(int)

    whole = draw(RenderSettings(canvas_w, h, fit=fit))
    tiles = [draw(RenderSettings(w, h, fit=fit, wall=(3, 1), tile=(c, 0), bezel=bezel)) for c in range(3)]
    for c, tile in enumerate(tiles):
        x = c * (w + bezel)
        assert np.abs(tile - whole[:, x:x + w]).max() <= 2, c
    assert np.abs(tiles[0] - tiles[1]).mean() > 5  # three parts of a picture, not three copies


@pytest.mark.parametrize("wall,tile,bezel,message", [
    ((3, 1), (3, 0), 0, "tile 3,0 is outside a 3x1 wall"), ((0, 1), (0, 0), 0, "1 to 16 screens a side"),
    ((2, 2), (0, -1), 0, "outside a 2x2 wall"), ((2, 1), (0, 0), -5, "bezel must be 0 to 1000"),
])
def test_a_wall_that_cannot_be_drawn_is_one_line(wall, tile, bezel, message):
    with pytest.raises(ValueError, match=message):
        RenderSettings(100, 100, wall=wall, tile=tile, bezel=bezel)

"""Latent paths: reproducibility, the typical shell, exact loops, C1/C2 splines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.latent import (
    EASINGS,
    GreatCircleLoop,
    NoiseLoop,
    SphericalSpline,
    SplinePath,
    Wander,
    ease,
    latent_from_seed,
    shell_radius,
    slerp,
)
from engine.latent.paths import loop_phase

DIM = 100


def test_seed_gives_the_same_latent_everywhere():
    z = latent_from_seed(42, DIM)
    # PCG64 + ziggurat are specified by numpy, not the platform: pin the first values.
    np.testing.assert_allclose(z[:3], latent_from_seed(42, DIM)[:3])
    expected = np.random.Generator(np.random.PCG64([42, 0])).standard_normal(DIM)
    assert np.array_equal(z, expected)
    assert not np.array_equal(z, latent_from_seed(43, DIM))
    assert not np.array_equal(z, latent_from_seed(42, DIM, stream=1))


def test_seed_rejects_negative():
    with pytest.raises(ValueError):
        latent_from_seed(-1, DIM)


def test_slerp_is_exact_at_ends_and_keeps_norm_between():
    a, b = latent_from_seed(1, DIM), latent_from_seed(2, DIM)
    assert np.array_equal(slerp(a, b, 0.0), a)
    assert np.array_equal(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    expected = 0.5 * (np.linalg.norm(a) + np.linalg.norm(b))
    assert abs(np.linalg.norm(mid) - expected) < 1e-9
    # Linear interpolation would drop to about |z| / sqrt(2) here.
    assert np.linalg.norm(0.5 * (a + b)) < 0.8 * expected


def _samples(path, seconds: float, fps: int = 30) -> np.ndarray:
    return np.array([path(i / fps) for i in range(int(seconds * fps) + 1)])


PATHS = [
    GreatCircleLoop(3, DIM, 4.0),
    GreatCircleLoop(3, DIM, 4.0, radius=0.3),
    NoiseLoop(5, DIM, 6.0),
    Wander(7, DIM, speed=0.5),
    SplinePath(np.array([latent_from_seed(s, DIM) for s in range(9)]), 1.5),
    SplinePath(np.array([latent_from_seed(s, DIM) for s in range(4)]), 1.0, periodic=True),
]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: type(p).__name__)
def test_every_path_stays_on_the_typical_shell(path):
    norms = np.linalg.norm(_samples(path, 12.0), axis=1)
    radius = shell_radius(DIM)
    # chi(100) has mean ~9.97 and sd ~0.71: stay within about 2 sd of sqrt(d).
    assert norms.min() > radius - 1.5 and norms.max() < radius + 1.5


@pytest.mark.parametrize("path", PATHS, ids=lambda p: type(p).__name__)
def test_every_path_is_smooth_frame_to_frame(path):
    zs = _samples(path, 12.0, fps=60)
    steps = np.linalg.norm(np.diff(zs, axis=0), axis=1)
    # No jumps: the largest step is within a small factor of the typical one.
    assert steps.max() < 4.0 * np.median(steps) + 1e-9
    assert steps.max() < 0.5


@pytest.mark.parametrize("period,fps", [(4.0, 30), (7.0, 24), (10.0, 60), (3.0, 29.97)])
def test_loops_close_exactly(period, fps):
    for loop in (GreatCircleLoop(11, DIM, period), NoiseLoop(11, DIM, period)):
        frames = round(period * fps)
        last = loop(frames / fps) if fps == int(fps) else loop(period)
        assert np.array_equal(last, loop(0.0)), type(loop).__name__
        assert not np.array_equal(loop(0.5 * period), loop(0.0))


def test_loop_phase_snaps_to_zero_at_whole_periods():
    assert loop_phase(300 / 30, 10.0) == 0.0
    assert loop_phase(3 * 7.0, 7.0) == 0.0
    assert abs(loop_phase(2.5, 10.0) - 0.25) < 1e-9


def test_great_circle_passes_through_the_seed_face_direction():
    loop = GreatCircleLoop(9, DIM, 5.0)
    z0 = latent_from_seed(9, DIM)
    cos = np.dot(loop(0.0), z0) / (np.linalg.norm(loop(0.0)) * np.linalg.norm(z0))
    assert cos > 1 - 1e-12


def _derivatives(f, u: float, h: float = 1e-4) -> tuple[np.ndarray, ...]:
    """One-sided first and second differences just before and just after u."""
    left = [f(u - k * h) for k in range(3)]  # u, u-h, u-2h
    right = [f(u + k * h) for k in range(3)]  # u, u+h, u+2h
    v_left = (left[0] - left[1]) / h
    v_right = (right[1] - right[0]) / h
    a_left = (left[0] - 2 * left[1] + left[2]) / h**2
    a_right = (right[2] - 2 * right[1] + right[0]) / h**2
    return v_left, v_right, a_left, a_right


@pytest.mark.parametrize("periodic", [False, True])
def test_spline_passes_keyframes_and_is_c1_c2_there(periodic):
    keys = np.array([latent_from_seed(s, DIM) for s in range(6)])
    spline = SphericalSpline(keys, periodic=periodic)
    for k in range(len(keys)):
        assert np.allclose(spline(float(k)), keys[k], atol=1e-9)
    inner = range(0, len(keys)) if periodic else range(1, len(keys) - 1)
    for k in inner:
        v_left, v_right, a_left, a_right = _derivatives(spline, float(k) + (len(keys) if k == 0 else 0))
        speed = np.linalg.norm(v_left)
        accel = max(np.linalg.norm(a_left), 1.0)
        # Velocity matches to O(h); acceleration to O(h) relative to its size.
        assert np.linalg.norm(v_left - v_right) < 1e-3 * speed, f"C1 broken at key {k}"
        assert np.linalg.norm(a_left - a_right) < 2e-2 * accel, f"C2 broken at key {k}"


def test_a_c0_only_path_would_fail_the_c1_check():
    """The finite-difference check can fail: piecewise slerp has a kink at its keys."""
    keys = [latent_from_seed(s, DIM) for s in range(3)]

    def piecewise(u: float) -> np.ndarray:
        i = min(int(u), 1)
        return slerp(keys[i], keys[i + 1], u - i)

    v_left, v_right, *_ = _derivatives(piecewise, 1.0)
    assert np.linalg.norm(v_left - v_right) > 0.1 * np.linalg.norm(v_left)


def test_periodic_spline_wraps_exactly():
    keys = np.array([latent_from_seed(s, DIM) for s in range(4)])
    path = SplinePath(keys, 2.0, periodic=True)
    assert path.period == 8.0
    assert np.array_equal(path(0.0), path(8.0))


def test_wander_is_a_pure_function_of_time():
    a, b = Wander(3, DIM, 0.4), Wander(3, DIM, 0.4)
    for t in (0.0, 1.23, 1000.5, -4.0):
        assert np.array_equal(a(t), b(t))
    assert not np.array_equal(a(0.0), a(10.0))


@pytest.mark.parametrize("name", sorted(EASINGS))
def test_easings_map_ends_and_are_monotone(name):
    xs = np.linspace(0, 1, 101)
    ys = np.array([ease(name, x) for x in xs])
    assert ys[0] == 0.0 and ys[-1] == 1.0
    assert np.all(np.diff(ys) >= -1e-12)


def test_smootherstep_has_zero_velocity_and_acceleration_at_ends():
    h = 1e-4
    for x in (0.0, 1.0):
        d1 = (ease("smootherstep", x + h) - ease("smootherstep", x - h)) / (2 * h)
        d2 = (ease("smootherstep", x + h) - 2 * ease("smootherstep", x) + ease("smootherstep", x - h)) / h**2
        assert abs(d1) < 1e-6 and abs(d2) < 1e-2
    assert math.isclose(ease("smootherstep", 0.5), 0.5)

"""Shared fixtures: the real bundled generator and a real headless EGL context."""

from __future__ import annotations

import os

import pytest

# The suite was written against the bundled 64-px model: "default" names it here even where
# install/setup.sh has installed the FFHQ faces (the tests that use those name them).
os.environ["VERNISSAGE_DEFAULT_MODEL"] = "digiface-dcgan64"

from engine.generators.loading import load_generator
from engine.render.context import headless_context


@pytest.fixture(scope="session")
def generator():
    """The bundled DigiFace DCGAN on the CPU (real weights)."""
    return load_generator("digiface-dcgan64", device="cpu")


@pytest.fixture(scope="session")
def gl():
    """One EGL context for the session (llvmpipe here; a GPU where there is one)."""
    ctx = headless_context()
    yield ctx
    ctx.release()

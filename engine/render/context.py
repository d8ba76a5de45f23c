"""OpenGL contexts: headless EGL for offline renders, tests and servers."""

from __future__ import annotations

import logging

import moderngl

log = logging.getLogger(__name__)


class RenderContextError(RuntimeError):
    """No OpenGL context could be made; the message says why and what to try."""


def headless_context() -> moderngl.Context:
    """A standalone OpenGL 3.3+ context through EGL, needing no display.

    Reports the renderer once, so nobody renders in software without knowing it (on hosts
    with a GPU and Mesa, EGL device 0 can be llvmpipe; GLCONTEXT_DEVICE_INDEX picks another).
    """
    try:
        ctx = moderngl.create_context(standalone=True, backend="egl", require=330)
    except Exception as exc:  # moderngl raises plain Exception for missing EGL/drivers
        raise RenderContextError(
            f"cannot create a headless OpenGL context through EGL ({exc}); install Mesa's "
            "EGL (libegl1, libgl1-mesa-dri) or a GPU driver") from None
    log.info("OpenGL renderer: %s (%s)", ctx.info["GL_RENDERER"], ctx.info["GL_VERSION"])
    return ctx


SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")


def is_software(ctx: moderngl.Context) -> bool:
    """True on a CPU rasteriser, where a shader pass costs CPU time that SIMD code beats."""
    renderer = ctx.info["GL_RENDERER"].lower()
    return any(name in renderer for name in SOFTWARE_RENDERERS)

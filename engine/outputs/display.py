"""Where frames are shown: a pygame OpenGL window with vsync, or an offscreen EGL surface.

Both give the loop one moderngl context, a framebuffer to draw into, whether that
framebuffer is bottom-up (a window's is), and present(). Pressed keys come back by name
(engine.inputs.keys says what each asks for).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import moderngl

from engine.render.context import RenderContextError, headless_context

log = logging.getLogger(__name__)
NO_VSYNC_DRIVERS = ("offscreen", "dummy")


class Display(Protocol):
    ctx: moderngl.Context
    size: tuple[int, int]
    flipped: bool  # the target's row 0 is the bottom (a window), so draw and read flipped
    vsync: bool  # present() blocks until the refresh

    @property
    def target(self) -> moderngl.Framebuffer: ...

    def present(self) -> None: ...

    def keys(self) -> list[str]:
        """Names of the keys pressed since the last call ("quit" for the window's close button)."""

    def toggle_fullscreen(self) -> bool:
        """Windowed <-> fullscreen; True if the size changed."""

    def close(self) -> None: ...


def no_screen_reason(driver: str) -> str:
    """One line on a window that would reach no screen, with what to check."""
    display = os.environ.get("DISPLAY") or "unset"
    xauthority = os.environ.get("XAUTHORITY") or f"unset, so {Path.home() / '.Xauthority'}"
    return (f"no screen: the window would open on SDL's '{driver}' driver and show nothing; "
            f"is X running at DISPLAY={display}, and may this account use it (XAUTHORITY={xauthority})? "
            "Use --headless, or SDL_VIDEODRIVER=offscreen to play without a screen on purpose")


class HeadlessDisplay:
    """An offscreen framebuffer on an EGL context: servers, tests, headless recording nodes."""

    flipped = False
    vsync = False

    def __init__(self, size: tuple[int, int]) -> None:
        self.ctx = headless_context()
        self.size = size
        self._color = self.ctx.renderbuffer(size)
        self._fbo = self.ctx.framebuffer([self._color])

    @property
    def target(self) -> moderngl.Framebuffer:
        return self._fbo

    def present(self) -> None:
        self.ctx.finish()  # the frame is complete when it counts as shown

    def keys(self) -> list[str]:
        return []

    def toggle_fullscreen(self) -> bool:
        return False

    def close(self) -> None:
        self._fbo.release()
        self._color.release()
        self.ctx.release()


class WindowDisplay:
    """A pygame window (fullscreen on monitor ``display`` if asked) with a GL 3.3 core context."""

    flipped = True

    def __init__(self, size: tuple[int, int] | None, fullscreen: bool, display: int = 0) -> None:
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame  # imported here: headless runs and tests never need it

        self._pg = pygame
        explicit = os.environ.get("SDL_VIDEODRIVER")
        try:
            pygame.display.init()
        except pygame.error as exc:
            raise RenderContextError(
                f"no display to open a window on ({exc}); run with --headless, set DISPLAY, "
                "or SDL_VIDEODRIVER=offscreen for a window without a screen") from None
        driver = pygame.display.get_driver()
        if driver in NO_VSYNC_DRIVERS and not explicit:
            # SDL falls back to a driver with no screen when X cannot be reached: the show would
            # "play" to nobody while reporting healthy. A window asked for must reach a screen.
            pygame.display.quit()
            raise RenderContextError(no_screen_reason(driver))
        screens = pygame.display.get_num_displays()
        if not 0 <= display < screens:
            pygame.display.quit()
            raise RenderContextError(f"--display {display}: there are {screens} display(s), numbered from 0")
        self.display = display
        self.windowed_size = size or (1280, 720)
        self.fullscreen = fullscreen
        self.vsync = pygame.display.get_driver() not in NO_VSYNC_DRIVERS
        self._open()
        self.ctx = moderngl.create_context(require=330)
        log.info("window on display %d via %s, OpenGL renderer: %s", display, pygame.display.get_driver(),
                 self.ctx.info["GL_RENDERER"])

    def _open(self) -> None:
        pg = self._pg
        pg.display.gl_set_attribute(pg.GL_CONTEXT_MAJOR_VERSION, 3)
        pg.display.gl_set_attribute(pg.GL_CONTEXT_MINOR_VERSION, 3)
        pg.display.gl_set_attribute(pg.GL_CONTEXT_PROFILE_MASK, pg.GL_CONTEXT_PROFILE_CORE)
        flags = pg.OPENGL | pg.DOUBLEBUF | (pg.FULLSCREEN if self.fullscreen else 0)
        size = (0, 0) if self.fullscreen else self.windowed_size
        try:
            pg.display.set_mode(size, flags, display=self.display, vsync=1)
        except pg.error as exc:
            if not self.vsync:
                raise RenderContextError(f"cannot open an OpenGL window ({exc}); run with --headless, or "
                                         "SDL_VIDEODRIVER=offscreen for a window without a screen") from None
            log.warning("vsync refused by the driver (%s); pacing by the clock instead", exc)
            self.vsync = False
            pg.display.set_mode(size, flags, display=self.display)
        pg.display.set_caption("Vernissage")
        pg.mouse.set_visible(False)
        self.size = pg.display.get_window_size()

    @property
    def target(self) -> moderngl.Framebuffer:
        screen = self.ctx.screen
        screen.viewport = (0, 0, *self.size)  # follows fullscreen toggles
        return screen

    @property
    def refresh_rate(self) -> float | None:
        """The monitor's refresh rate, if the driver reports one."""
        try:
            rates = self._pg.display.get_desktop_refresh_rates()
        except (AttributeError, self._pg.error):
            return None
        rate = rates[self.display] if self.display < len(rates) else 0
        return float(rate) if rate else None

    def toggle_fullscreen(self) -> bool:
        """Reopen windowed <-> fullscreen; the GL context survives, the size may change."""
        before = self.size
        self.fullscreen = not self.fullscreen
        self._open()
        return self.size != before

    def present(self) -> None:
        self._pg.display.flip()

    def keys(self) -> list[str]:
        found = []
        for event in self._pg.event.get():
            if event.type == self._pg.QUIT:
                found.append("quit")
            elif event.type == self._pg.KEYDOWN:
                found.append(self._pg.key.name(event.key))
        return found

    def close(self) -> None:
        self.ctx.release()
        self._pg.display.quit()

"""OpenGL rendering: the generated frame as a texture, shader passes, headless contexts."""

from engine.render.context import RenderContextError, headless_context, is_software
from engine.render.renderer import Renderer
from engine.render.settings import Look, RenderSettings, parse_size

__all__ = ["Look", "RenderContextError", "RenderSettings", "Renderer", "headless_context", "is_software", "parse_size"]

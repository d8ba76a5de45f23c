"""Show scripts: the TOML format, validation with file:line errors, the timeline, the registry."""

from engine.show.errors import ShowError
from engine.show.portraits import PortraitSequence
from engine.show.registry import Registry
from engine.show.schema import CUE_KINDS, Show, load_show
from engine.show.timeline import Timeline

__all__ = ["CUE_KINDS", "PortraitSequence", "Registry", "Show", "ShowError", "Timeline", "load_show"]

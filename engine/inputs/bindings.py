"""Bindings: any incoming address drives any fader of the map, scaled and smoothed.

A controller's existing layout (TouchOSC's ``/1/fader3``, a sensor's ``/distance`` in
centimetres) works without reprogramming it. Bindings come from a TOML file, or the
``[[binding]]`` tables of a show::

    [[binding]]
    address = "/1/fader3"                 # what the controller sends
    target = "/vernissage/render/grain"   # a fader of the address map
    input = [0.0, 1.0]                    # the controller's range (clamped)
    output = [0.0, 0.5]                   # where that lands in the target's range
    smoothing = 0.2                       # seconds to cover 63 % of a jump (0 = none)

``address = "audio/low"`` (or level, onset, mid, high, ...) binds what the music does instead
(``play --audio``, ``render --audio``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

from engine.audio.analysis import AudioFeatures
from engine.commands import SetFader
from engine.inputs.addresses import FADERS, STEER, ControlError, find_address, is_fader
from engine.show.source_map import SourceMap
from engine.tomlread import TomlError, parse_toml


AUDIO = "audio/"  # bindings from what the music does: audio/level, audio/low, ... (engine.inputs.audio)
MIDI = "midi/"  # bindings from a MIDI controller: midi/cc/CH/N, midi/cc14/CH/N, midi/note/CH/N (engine.inputs.midi)
_MIDI_ADDRESS = re.compile(r"^midi/(cc|cc14|note)/(\d{1,2})/(\d{1,3})$")


def midi_address_ok(address: str) -> bool:
    """A MIDI binding address: channel 1-16, control or note 0-127 (a 14-bit control's high half 0-31)."""
    match = _MIDI_ADDRESS.match(address)
    if match is None:
        return False
    kind, channel, number = match.group(1), int(match.group(2)), int(match.group(3))
    return 1 <= channel <= 16 and 0 <= number <= (31 if kind == "cc14" else 127)
AUDIO_FEATURES = tuple(f.name for f in fields(AudioFeatures))


class BindingError(ValueError):
    """A bindings file that cannot be used; ``str()`` is one line with file:line."""


@dataclass(frozen=True)
class Binding:
    address: str
    target: str
    input: tuple[float, float] = (0.0, 1.0)
    output: tuple[float, float] | None = None  # None: the target's whole range
    smoothing: float = 0.0

    def command(self, args: tuple[object, ...]) -> SetFader:
        """The target's command for an incoming value (the first numeric argument)."""
        if not args or isinstance(args[0], (str, bytes)) or not isinstance(args[0], (int, float)):
            raise ControlError(f"{self.address}: bound to {self.target}, needs a number, got {args[:1]!r}")
        value = float(args[0])
        if not math.isfinite(value):
            raise ControlError(f"{self.address}: bound to {self.target}, got {value}")
        low, high = self.input
        u = 0.0 if high == low else min(1.0, max(0.0, (value - low) / (high - low)))
        param = find_address(self.target).params[0]  # type: ignore[union-attr] # checked when read
        out_low, out_high = self.output or (param.low, param.high)
        return SetFader(self.target, out_low + u * (out_high - out_low), self.smoothing)


def _pair(p: _Where, table: dict, key: str, default):
    value = table.get(key, default)
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise p.fail(key, f"'{key}' must be two numbers, e.g. [0.0, 1.0], got {value!r}")
    return (float(value[0]), float(value[1]))


@dataclass
class _Where:
    path: Path
    map: SourceMap
    index: int

    def fail(self, key: str | None, message: str) -> BindingError:
        return BindingError(f"{self.path}:{self.map.line('binding', self.index, key)}: {message}")


def parse_bindings(path: Path, tables: object, text: str) -> tuple[Binding, ...]:
    """Bindings from the ``[[binding]]`` tables of a parsed TOML document."""
    if tables is None:
        return ()
    source = SourceMap(text)
    if not isinstance(tables, list):
        raise BindingError(f"{path}:{source.line('binding')}: bindings are [[binding]] tables")
    bindings = []
    for index, table in enumerate(tables):
        p = _Where(path, source, index)
        if not isinstance(table, dict):
            raise p.fail(None, "each binding must be a [[binding]] table")
        unknown = set(table) - {"address", "target", "input", "output", "smoothing"}
        if unknown:
            raise p.fail(sorted(unknown)[0], f"unknown key '{sorted(unknown)[0]}' in [[binding]]")
        address, target = table.get("address"), table.get("target")
        if isinstance(address, str) and address.startswith(AUDIO):
            if address[len(AUDIO):] not in AUDIO_FEATURES:
                raise p.fail("address", f"'{address[:40]}' is not an audio feature; one of "
                                        f"{', '.join(AUDIO + f for f in AUDIO_FEATURES)}")
        elif isinstance(address, str) and address.startswith(MIDI):
            if not midi_address_ok(address):
                raise p.fail("address", f"'{address[:40]}' is not a MIDI control: midi/cc/CH/N, midi/cc14/CH/N "
                                        f"(N 0-31) or midi/note/CH/N, channel 1-16, N 0-127")
        elif not isinstance(address, str) or not address.startswith("/"):
            raise p.fail("address", f"'address' must be an OSC address like \"/1/fader3\" or an audio feature "
                                    f"like \"audio/low\", got {address!r}")
        if find_address(address) is not None:
            raise p.fail("address", f"{address} is already in the address map; bind a controller's own address")
        if not isinstance(target, str) or not is_fader(target):
            raise p.fail("target", f"'target' must be one of {', '.join(FADERS)} or {STEER}AXIS, got {target!r}"[:300])
        smoothing = table.get("smoothing", 0.0)
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing <= 60:
            raise p.fail("smoothing", f"'smoothing' must be 0..60 seconds, got {smoothing!r}")
        param = find_address(target).params[0]  # type: ignore[union-attr] # a fader, checked above
        output = _pair(p, table, "output", None)
        if output is not None and not all(param.low <= v <= param.high for v in output):
            raise p.fail("output", f"'output' must lie in {target}'s range {param.low:g}..{param.high:g}")
        bindings.append(Binding(address, target, _pair(p, table, "input", [0.0, 1.0]), output, float(smoothing)))
    return tuple(bindings)


def load_bindings(path: str | Path) -> tuple[Binding, ...]:
    """The bindings in a TOML file (a bindings file or a show); BindingError names file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = parse_toml(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise BindingError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except TomlError as exc:
        raise BindingError(f"{path}:{exc.line}: invalid TOML: {exc.reason}") from None
    return parse_bindings(path, data.get("binding"), text)

"""The OSC address map: every address the engine understands, its arguments and their ranges.

Incoming messages are checked here before anything acts on them: wrong types, wrong counts,
NaN and out-of-range values become a :class:`ControlError` with one line saying what was
wrong, never an exception in the frame loop. A message that passes becomes the typed command
(engine.commands) its address builds. The README's table is checked against this map by a
test, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from engine.commands import (
    AudioFrame,
    Beat,
    BeatsPerFace,
    Command,
    GoToCue,
    LoadShow,
    LockTempo,
    MorphTo,
    NextCue,
    NextFace,
    Pause,
    ScheduleOverride,
    Seek,
    SetFader,
    SetTempo,
    Snapshot,
    StartRecording,
    StopRecording,
    TapTempo,
    Translate,
    Value,
    WalkSeed,
    WallSync,
)

PREFIX = "/vernissage/"
# The faders the live show reads by name (engine.loop.show_state), named once here.
GRAIN, BRIGHTNESS, VIGNETTE, FADE = (f"{PREFIX}render/{n}" for n in ("grain", "brightness", "vignette", "fade"))
SPEED, RATE = f"{PREFIX}walk/speed", f"{PREFIX}walk/rate"
TRUNCATION = f"{PREFIX}latent/truncation"
ROTATE, TRANSLATE_X, TRANSLATE_Y = f"{PREFIX}model/rotate", f"{PREFIX}model/translate/x", f"{PREFIX}model/translate/y"
LOOK_FADERS = (GRAIN, BRIGHTNESS, VIGNETTE, FADE)  # change the frame itself: no keyframes to wait for
SPEED_FADERS = (SPEED, RATE)
MOTION_FADERS = {ROTATE: "rotate", TRANSLATE_X: "x", TRANSLATE_Y: "y"}  # the input transform's parts (StyleGAN3)


class ControlError(ValueError):
    """A message that cannot be applied; ``str()`` is one line naming the address and the cause."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "float", "int", "bool", "str" or "cue" (a name or an index)
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Address:
    """One address: required then optional parameters, what it builds and how it is treated.

    ``kind``: "fader" (continuous: a flood of moves coalesces to the latest value), "trigger"
    (every message counts, in order), "query" (answered by the server, changes nothing).
    ``build`` makes the command from the checked arguments (None for a query).
    """

    path: str
    build: Callable[..., Command] | None
    params: tuple[Param, ...] = ()
    optional: tuple[Param, ...] = ()
    kind: str = "trigger"
    effect: str = ""


def _fader(path: str, effect: str, low: float = 0.0, high: float = 1.0) -> Address:
    return Address(path, partial(SetFader, path), (Param("value", "float", low, high),), kind="fader", effect=effect)


def _pause(paused: int | None = None) -> Pause:
    return Pause(None if paused is None else bool(paused))


def _lock(locked: int) -> LockTempo:
    return LockTempo(bool(locked))


def _audio_frame(drive: float, hit: int, beat: int, bpm: float, *heard: float) -> AudioFrame:
    return AudioFrame(drive, bool(hit), bool(beat), bpm, tuple(heard))


def _override(mode: str) -> ScheduleOverride:
    if mode not in ("open", "closed", "auto"):
        raise ControlError(f"/vernissage/schedule/override: 'mode' must be open, closed or auto, got {mode[:20]!r}")
    return ScheduleOverride(mode)


ADDRESSES: dict[str, Address] = {a.path: a for a in (
    Address("/vernissage/show/cue", GoToCue, (Param("cue", "cue"),),
            effect="jump to the start of a cue, by name or by index from 0 (in the current cycle)"),
    Address("/vernissage/show/next", NextCue, effect="jump to the start of the next cue (a walk: the next face)"),
    Address("/vernissage/show/pause", _pause, optional=(Param("paused", "bool"),),
            effect="1 pauses, 0 resumes, no argument toggles"),
    Address("/vernissage/show/seek", Seek, (Param("seconds", "float", 0.0, 1e9),), effect="jump to this show time"),
    Address("/vernissage/show/load", LoadShow, (Param("file", "str"),),
            effect="play another show file from the shows folder (never outside it)"),
    _fader("/vernissage/walk/speed", "show speed on a fader: 0 = 1/4x, 0.5 = 1x, 1 = 4x"),
    _fader("/vernissage/walk/rate", "show speed as a multiplier (1/16 to 16)", 1 / 16, 16.0),
    Address("/vernissage/walk/seed", WalkSeed, (Param("seed", "int", 0, 2**31 - 1),),
            effect="cut to a new walk starting at this seed's face"),
    Address("/vernissage/morph/to", MorphTo, (Param("seed", "int", 0, 2**31 - 1), Param("seconds", "float", 0.0, 600.0)),
            effect="morph from the face on screen to this seed's face over the seconds, then walk on from it"),
    Address("/vernissage/portrait/next", NextFace, effect="the next face now (a new portrait in a portraits cue)"),
    _fader("/vernissage/latent/truncation", "truncation psi: 0 = the average face, 1 = full variety"),
    _fader("/vernissage/model/rotate", "turn the picture, degrees, on top of the show's own (StyleGAN3 models)",
           -180.0, 180.0),
    _fader("/vernissage/model/translate/x", "shift the picture sideways, image widths (StyleGAN3 models)", -1.0, 1.0),
    _fader("/vernissage/model/translate/y", "shift the picture up or down, image widths (StyleGAN3 models)", -1.0, 1.0),
    Address("/vernissage/model/translate", Translate, (Param("x", "float", -1.0, 1.0), Param("y", "float", -1.0, 1.0)),
            effect="shift the picture to (x, y) at once: an XY pad (StyleGAN3 models)"),
    _fader("/vernissage/render/grain", "film grain, 0 = none to 1 = heavy (std 0.15)"),
    _fader("/vernissage/render/brightness", "brightness, 0 = black to 1 = as graded"),
    _fader("/vernissage/render/vignette", "vignette strength"),
    _fader("/vernissage/render/fade", "blackout: 0 = the picture, 1 = black"),
    Address("/vernissage/record/start", StartRecording, optional=(Param("file", "str"),),
            effect="record what is shown to this file in the recordings folder (default: a timestamped .mp4)"),
    Address("/vernissage/record/stop", StopRecording, effect="stop recording; the file is complete"),
    Address("/vernissage/snapshot", Snapshot, effect="save the frame on screen as a PNG"),
    Address("/vernissage/tempo/bpm", SetTempo, (Param("bpm", "float", 20.0, 300.0),), effect="set the tempo"),
    Address("/vernissage/tempo/tap", TapTempo, effect="tap tempo: the mean of the last taps sets the tempo"),
    Address("/vernissage/tempo/beat", Beat, effect="a beat falls now: the tempo grid's phase, the tempo kept"),
    Address("/vernissage/tempo/lock", _lock, (Param("locked", "bool"),),
            effect="1: face changes and cues land on beats, walks move one face per `tempo/beats` beats"),
    Address("/vernissage/tempo/beats", BeatsPerFace, (Param("beats", "int", 1, 64),),
            effect="beats per face when locked"),
    Address("/vernissage/schedule/override", _override, (Param("mode", "str"),),
            effect="`open` early, `closed` for an event, or `auto`: back to the opening hours"),
    Address("/vernissage/wall/sync", WallSync, (Param("time", "float", -1e9, 1e9),),
            effect="a video wall leader's show time at this bundle's time tag: a follower slews or seeks to it"),
    Address("/vernissage/wall/audio", _audio_frame, (Param("drive", "float", 0.0, 64.0), Param("hit", "bool"),
                                                     Param("beat", "bool"), Param("bpm", "float", 0.0, 1000.0)),
            optional=tuple(Param(f"feature{i}", "float", -1e6, 1e6) for i in range(16)),
            effect="a video wall leader's music for one frame (pace, onset, beat, tempo, features): a follower moves to it"),
    Address("/vernissage/status", None, kind="query", effect="answer /vernissage/status to the sender (see Feedback)"),
)}

FADERS = tuple(path for path, a in ADDRESSES.items() if a.kind == "fader")
STEER = "/vernissage/steer/"  # + an axis: a [[vector]]'s name, or K for the show's directions file
STEER_RANGE = 5.0
_STEER_AXIS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,39}$")


def find_address(path: str) -> Address | None:
    """The address ``path`` names: one of ADDRESSES, or a steering fader ``/vernissage/steer/AXIS``
    (whether the show has that axis is the show's to say when the fader moves)."""
    spec = ADDRESSES.get(path)
    if spec is None and path.startswith(STEER) and _STEER_AXIS.match(path[len(STEER):]):
        return _fader(path, "steer along this axis: 0 = as the show has it, +-5 = far", -STEER_RANGE, STEER_RANGE)
    return spec


def is_fader(path: str) -> bool:
    spec = find_address(path)
    return spec is not None and spec.kind == "fader"


def _coerce(address: str, param: Param, value: object) -> Value:
    where = f"{address}: '{param.name}'"
    if param.kind == "str":
        if not isinstance(value, str) or not value or len(value) > 256:
            raise ControlError(f"{where} must be a short string, got {value!r}")
        return value
    if param.kind == "cue":
        if isinstance(value, str) and value and len(value) <= 256:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() and value >= 0:
            return int(value)
        raise ControlError(f"{where} must be a cue name or an index from 0, got {value!r}")
    if isinstance(value, bool):  # OSC's T and F
        number: float = float(value)
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        raise ControlError(f"{where} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(number):
        raise ControlError(f"{where} must be finite, got {number}")
    if param.kind == "bool":
        if number not in (0.0, 1.0):
            raise ControlError(f"{where} must be 0 or 1, got {number:g}")
        return int(number)
    if param.low is not None and not (param.low <= number <= param.high):
        raise ControlError(f"{where} must be in {param.low:g}..{param.high:g}, got {number:g}")
    if param.kind == "int":
        if not number.is_integer():
            raise ControlError(f"{where} must be a whole number, got {number:g}")
        return int(number)
    return number


def _button(address: str, args: tuple[object, ...] | list[object]) -> bool:
    """A trigger sent by a button: True on press (no argument, or one non-zero number), False
    on release (one 0: ignored). TouchOSC, Lemur and most surfaces send 1 then 0."""
    if not args:
        return True
    value = args[0]
    if len(args) == 1 and isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value) != 0.0
    raise ControlError(f"{address}: a trigger takes no argument or one number (1 press, 0 release), got {list(args)[:3]!r}")


def is_query(address: str) -> bool:
    spec = find_address(address)
    return spec is not None and spec.kind == "query"


def check(address: str, args: tuple[object, ...] | list[object]) -> Command | None:
    """The command for an incoming message, None for a button's release or a query, or
    ControlError (one line)."""
    spec = find_address(address)
    if spec is None:
        raise ControlError(f"{address[:80]}: unknown address")
    required, optional = spec.params, spec.optional
    if spec.kind != "fader" and not required and not optional:
        pressed = _button(address, args)
        return spec.build() if pressed and spec.build is not None else None
    if not len(required) <= len(args) <= len(required) + len(optional):
        expected = " ".join([p.name for p in required] + [f"[{p.name}]" for p in optional]) or "no arguments"
        raise ControlError(f"{address}: expected {expected}, got {len(args)} argument(s)")
    params = required + optional
    values = tuple(_coerce(address, p, v) for p, v in zip(params, args))
    return spec.build(*values) if spec.build is not None else None

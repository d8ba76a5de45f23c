"""What a performer changes, applied at ticks: the one place OSC, keys and replayed logs act.

Every command lands at the start of a frame (its tick). Changes of show time and of latents
are scheduled ``lead`` ticks ahead, so the run-ahead worker has their keyframes ready when
they show; changes of the look apply to the frame itself. Everything here is a function of
the commands and the ticks they were applied at, never of wall time: a performance log
replays to the same frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.control.addresses import Command, ControlError
from engine.control.tempo import Tempo
from engine.frames import FrameSource, FrameSpec, WalkSource
from engine.live.clock import ShowClock
from engine.live.live_source import LiveSource
from engine.show import Timeline

GRAIN_FULL = 0.15  # grain standard deviation at /render/grain 1
LOOK_FADERS = ("/vernissage/render/grain", "/vernissage/render/brightness", "/vernissage/render/vignette",
               "/vernissage/render/fade")
TRIGGERS_ON_BEAT = ("/vernissage/show/cue", "/vernissage/show/next", "/vernissage/portrait/next",
                    "/vernissage/walk/seed", "/vernissage/morph/to")
SIDE_EFFECTS = ("/vernissage/record/start", "/vernissage/record/stop", "/vernissage/snapshot")


def fader_speed(value: float) -> float:
    """/walk/speed's fader: 0 -> 1/4x, 0.5 -> 1x, 1 -> 4x (even steps in octaves)."""
    return 4.0 ** (2.0 * value - 1.0)


class Performance:
    """The live state on top of the show: source epochs, look faders, tempo.

    Args:
        load_show: file name (relative to the shows folder) -> a new base source; raises
            ControlError (one line) for files outside the folder or broken shows.
    """

    def __init__(self, clock: ShowClock, source: FrameSource, dim: int, lead: int,
                 load_show: Callable[[str], FrameSource] | None = None) -> None:
        self.clock = clock
        self.dim = dim
        self.lead = lead
        self.tempo = Tempo(clock.fps)
        self.faders: dict[str, float] = {}
        self.requests: list[Command] = []  # side effects for the player: recording, snapshots
        self._load_show = load_show
        self._sources: dict[int, LiveSource] = {0: LiveSource(source)}
        self._epoch = 0
        self._smoothing: dict[str, tuple[float, float]] = {}  # address -> (target, per-tick factor)

    # --- what the frame loop reads -----------------------------------------------------------------

    def source(self, epoch: int) -> LiveSource:
        return self._sources.get(epoch) or self._sources[self._epoch]

    @property
    def latest(self) -> LiveSource:
        return self._sources[self._epoch]

    def adjust(self, spec: FrameSpec) -> FrameSpec:
        """``spec`` with the look faders applied (grain, brightness, vignette, blackout)."""
        if not self.faders:
            return spec
        look = spec.look
        f = self.faders
        if "/vernissage/render/grain" in f:
            look = replace(look, grain=GRAIN_FULL * f["/vernissage/render/grain"])
        if "/vernissage/render/brightness" in f:
            look = replace(look, brightness=look.brightness * f["/vernissage/render/brightness"])
        if "/vernissage/render/vignette" in f:
            look = replace(look, vignette=f["/vernissage/render/vignette"])
        spec = replace(spec, look=look)
        blackout = f.get("/vernissage/render/fade", 0.0)
        if blackout > 0.0:  # the show's own fade, then black over it: one mix with the same result
            total = 1.0 - (1.0 - spec.fade) * (1.0 - blackout)
            color = tuple(c * spec.fade * (1.0 - blackout) / total for c in spec.fade_color)
            spec = replace(spec, fade=total, fade_color=color)
        return spec

    # --- applying commands --------------------------------------------------------------------------

    def apply(self, tick: int, command: Command) -> int:
        """Apply ``command`` at the start of frame ``tick``; returns the tick it shows from.

        Raises ControlError (one line) for a command that does not fit the show (no such cue,
        a show file that will not load).
        """
        address, args = command.address, command.args
        at = tick + self.lead
        if self.tempo.locked and address in TRIGGERS_ON_BEAT:
            at = self.tempo.next_beat(at)
        if command.spec.kind == "fader" and command.smoothing > 0.0:
            factor = 1.0 - math.exp(-1.0 / (command.smoothing * self.clock.fps))
            self._smoothing[address] = (float(args[0]), factor)
            return tick
        if command.spec.kind == "fader":
            self._smoothing.pop(address, None)
            return self._set_fader(tick, address, float(args[0]))
        if address in SIDE_EFFECTS:
            self.requests.append(command)
            return tick
        handler = getattr(self, "_" + address.removeprefix("/vernissage/").replace("/", "_"))
        return handler(tick, at, *args)

    def step(self, tick: int) -> None:
        """Move smoothed faders one frame toward their targets (call once per frame)."""
        for address, (target, factor) in list(self._smoothing.items()):
            current = self._fader_value(address)
            value = current + (target - current) * factor
            # each truncation step is a new epoch to generate: the tail of the glide is one step
            close = 2e-3 if address == "/vernissage/latent/truncation" else 1e-4
            if abs(target - value) < close or abs(value - current) < close:
                value = target
                del self._smoothing[address]
            self._set_fader(tick, address, value)

    def _fader_value(self, address: str) -> float:
        if address in self.faders:
            return self.faders[address]
        if address == "/vernissage/latent/truncation":
            return self.latest.truncation if self.latest.truncation is not None else 1.0
        if address in ("/vernissage/walk/speed", "/vernissage/walk/rate"):
            rate = self.clock.segments()[-1].resume_speed
            return (math.log(rate, 4.0) + 1.0) / 2.0 if address.endswith("speed") else rate
        return 1.0 if address == "/vernissage/render/brightness" else 0.0

    def _set_fader(self, tick: int, address: str, value: float) -> int:
        if address in LOOK_FADERS:
            self.faders[address] = value
            return tick
        at = tick + self.lead
        if address == "/vernissage/latent/truncation":
            self._switch(at, self.latest.with_truncation(value))
        elif address == "/vernissage/walk/speed":
            self.faders[address] = value
            self.clock.set_speed(at, fader_speed(value))
        elif address == "/vernissage/walk/rate":
            self.clock.set_speed(at, value)
        return at

    def _switch(self, at: int, source: LiveSource, time: float | None = None) -> None:
        """From tick ``at`` on, frames come from ``source`` (a new epoch)."""
        self._epoch += 1
        self._sources[self._epoch] = source
        self.clock.switch(at, self._epoch, time)
        oldest = min(seg.epoch for seg in self.clock.segments())
        for epoch in [e for e in self._sources if e < oldest]:
            del self._sources[epoch]

    def reload(self, tick: int, base: FrameSource) -> None:
        """The show file changed: its new version from ``lead`` ticks on, live changes kept."""
        self._switch(tick + self.lead, replace(self.latest, base=base))

    def _released(self, at: int, time: float) -> None:
        """Jump to ``time`` of the show itself (a cue), leaving any live walk."""
        if self.latest.walk is not None:
            self._switch(at, self.latest.with_base(self.latest.base), time)
        else:
            self.clock.seek(at, time)

    def _show_cue(self, tick: int, at: int, cue: int | str) -> int:
        base = self.latest.base
        start = base.cue_start(cue, self.clock.time_at(at)) if isinstance(base, Timeline) else None
        if start is None:
            raise ControlError(f"/vernissage/show/cue: no cue {cue!r} in this show")
        self._released(at, start)
        return at

    def _show_next(self, tick: int, at: int) -> int:
        t = self.clock.time_at(at)
        base = self.latest.base
        self._released(at, base.next_cue(t) if isinstance(base, Timeline) else self.latest.next_face(t))
        return at

    def _portrait_next(self, tick: int, at: int) -> int:
        self.clock.seek(at, self.latest.next_face(self.clock.time_at(at)))
        return at

    def _show_pause(self, tick: int, at: int, paused: int | None = None) -> int:
        self.clock.set_paused(tick, not self.clock.paused if paused is None else bool(paused))
        return tick

    def _show_seek(self, tick: int, at: int, seconds: float) -> int:
        self.clock.seek(at, seconds)
        return at

    def _show_load(self, tick: int, at: int, file: str) -> int:
        if self._load_show is None:
            raise ControlError("/vernissage/show/load: no shows folder (play a show, or pass --shows)")
        self._switch(at, self.latest.with_base(self._load_show(file)), 0.0)
        return at

    def _walk_seed(self, tick: int, at: int, seed: int) -> int:
        self._switch(at, self.latest.with_walk(seed, self.dim, self.clock.time_at(at)))
        return at

    def _morph_to(self, tick: int, at: int, seed: int, seconds: float) -> int:
        self._switch(at, self.latest.with_walk(seed, self.dim, self.clock.time_at(at), seconds))
        return at

    def _tempo_bpm(self, tick: int, at: int, bpm: float) -> int:
        self.tempo.set_bpm(tick, bpm)
        return self._lock_speed(at)

    def _tempo_tap(self, tick: int, at: int) -> int:
        self.tempo.tap(tick)
        return self._lock_speed(at)

    def _tempo_lock(self, tick: int, at: int, locked: int) -> int:
        self.tempo.locked = bool(locked)
        return self._lock_speed(at)

    def _tempo_beats(self, tick: int, at: int, beats: int) -> int:
        self.tempo.beats_per_face = beats
        return self._lock_speed(at)

    def _lock_speed(self, at: int) -> int:
        """Locked to the tempo, a walk moves one face per ``beats_per_face`` beats."""
        rate = self.face_rate()
        if self.tempo.locked and rate:
            self.clock.set_speed(at, self.tempo.faces_per_second() / rate)
        return at

    def face_rate(self) -> float | None:
        """New faces per second of show time at speed 1, for sources that have one."""
        if self.latest.walk is not None:
            return self.latest.walk.speed
        base = self.latest.base
        return base.face_rate if isinstance(base, WalkSource) else None

    # --- feedback ----------------------------------------------------------------------------------

    def status(self, tick: int) -> dict[str, object]:
        """The show part of /vernissage/status (the player adds frame rate and recording)."""
        t = self.clock.time_at(tick)
        seg = self.clock.segment_at(tick)
        base = self.latest.base
        if self.latest.walk is not None:
            cue = f"walk {self.latest.walk.seed}"
        elif isinstance(base, Timeline):
            cue = base.cue_name(t)
        else:
            cue = "walk"
        return {"cue": cue, "time": round(t, 3), "paused": int(seg.speed == 0.0), "speed": round(seg.resume_speed, 4),
                "bpm": round(self.tempo.bpm, 2), "locked": int(self.tempo.locked)}


def shows_loader(folder: Path, load: Callable[[Path], FrameSource]) -> Callable[[str], FrameSource]:
    """/show/load's file lookup: names resolve inside ``folder`` and may never leave it."""
    root = folder.resolve()

    def load_from_folder(name: str) -> FrameSource:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or path.suffix.lower() != ".toml":
            raise ControlError(f"/vernissage/show/load: {name!r} is not a .toml show inside {folder}")
        if not path.is_file():
            raise ControlError(f"/vernissage/show/load: no show {name!r} in {folder}")
        return load(path)

    return load_from_folder

"""MIDI as an input: a controller's faders, pads and clock become the same commands as OSC.

Messages arrive on python-rtmidi's own thread (through ``mido``), which only stamps and queues
them; each frame the intake takes what has arrived and turns it into
commands, so the show's state has one owner, as with OSC and audio. Through ``[[binding]]``
tables a message's address drives a fader:

- ``midi/cc/CH/N``: control change N on channel CH (1-16), 0..127 as 0..1;
- ``midi/cc14/CH/N``: a 14-bit control (N 0-31 carries the high 7 bits, N + 32 the low ones),
  0..16383 as 0..1, for faders finer than 128 steps;
- ``midi/note/CH/N``: a pad or key, its velocity as 0..1 while held, 0 when let go.

Without a binding, a program change N goes to cue N (``/vernissage/show/cue``), and MIDI clock
(24 pulses a quarter note, from a DAW or a drum machine) sets the tempo. With learning on, each
unbound control is named once in the log with the binding line that would bind it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from engine.commands import Command, GoToCue, SetTempo
from engine.inputs.bindings import MIDI, Binding
from engine.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
PULSES_PER_BEAT = 24
CLOCK_BEATS = 2  # beats of clock pulses a tempo is measured over
TEMPO_STEP = 0.5  # BPM the measured tempo must move before it is sent again
QUEUED = 4096  # messages kept between two frames at most (a flood drops the oldest)


class MidiError(RuntimeError):
    """A MIDI port that cannot be opened; ``str()`` is one line."""


def input_names() -> list[str]:
    """The MIDI input ports of this machine (none where there is no MIDI system)."""
    import mido

    try:
        return list(mido.get_input_names())
    except Exception:  # noqa: BLE001 - rtmidi raises its own SystemError where ALSA has no sequencer
        return []


class MidiInput:
    """Commands from MIDI messages, frame by frame (engine.loop.intake asks at each frame's start)."""

    def __init__(self, bindings: Iterable[Binding] = (), learn: bool = False,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.bindings = {b.address: b for b in bindings if b.address.startswith(MIDI)}
        self.learn = learn
        self._now = now
        self._queue: deque[tuple[float, object]] = deque(maxlen=QUEUED)  # append/popleft: safe across threads
        self._high: dict[tuple[int, int], int] = {}  # 14-bit controls: the last high 7 bits by (channel, control)
        self._pulses: deque[float] = deque(maxlen=PULSES_PER_BEAT * CLOCK_BEATS + 1)
        self._tempo = 0.0
        self._learned: set[str] = set()
        self._problems = RateLimitedLog(log)
        self._port = None
        self._parser = None
        self._lock = threading.Lock()

    def open(self, name: str | None) -> None:
        """Listen on the port called ``name`` (or the first one); MidiError when there is none."""
        import mido

        names = input_names()
        if not names:
            raise MidiError("no MIDI input ports on this machine (is the controller plugged in? "
                            "`vernissage play --midi list` lists them)")
        chosen = name if name in names else next((n for n in names if name and name.lower() in n.lower()), None)
        if name is not None and chosen is None:
            raise MidiError(f"no MIDI input port {name!r} (ports: {', '.join(names)[:200]})")
        try:
            self._port = mido.open_input(chosen or names[0], callback=self.received)
        except Exception as exc:  # noqa: BLE001 - rtmidi's errors are its own classes
            raise MidiError(f"cannot open MIDI port {chosen or names[0]!r} ({exc})") from None
        log.info("MIDI input: %s", chosen or names[0])

    def received(self, message: object) -> None:
        """On the MIDI thread: stamp and queue, nothing else."""
        self._queue.append((self._now(), message))

    def feed(self, data: bytes) -> None:
        """Raw MIDI bytes (a file, a network stream, a test), parsed as a port would be."""
        import mido

        with self._lock:
            if self._parser is None:
                self._parser = mido.Parser()
            self._parser.feed(data)
            for message in self._parser:
                self.received(message)

    def commands(self, tick: int) -> list[Command]:
        """The commands of everything that arrived since the last frame."""
        out: list[Command] = []
        while self._queue:
            at, message = self._queue.popleft()
            try:
                out.extend(self._commands(at, message))
            except (AttributeError, TypeError, ValueError) as exc:  # a message mido made but we cannot use
                self._problems.warning("midi", f"MIDI: ignored {str(message)[:60]} ({exc})")
        return out

    def _commands(self, at: float, message: object) -> list[Command]:
        kind = getattr(message, "type", "")
        if kind == "clock":
            return self._clock(at)
        if kind in ("start", "continue", "stop"):
            self._pulses.clear()
            return []
        channel = getattr(message, "channel", 0) + 1
        if kind == "control_change":
            control, value = message.control, message.value  # type: ignore[attr-defined]
            out = self._bound(f"midi/cc/{channel}/{control}", value / 127.0)
            if control < 32:
                self._high[(channel, control)] = value
                out += self._bound(f"midi/cc14/{channel}/{control}", value * 128 / 16383.0)
            elif control < 64 and (channel, control - 32) in self._high:
                fine = self._high[(channel, control - 32)] * 128 + value
                out += self._bound(f"midi/cc14/{channel}/{control - 32}", fine / 16383.0, learn=False)
            return out
        if kind in ("note_on", "note_off"):
            velocity = message.velocity if kind == "note_on" else 0  # type: ignore[attr-defined]
            return self._bound(f"midi/note/{channel}/{message.note}", velocity / 127.0)  # type: ignore[attr-defined]
        if kind == "program_change":
            return [GoToCue(int(message.program))]  # type: ignore[attr-defined]
        return []

    def _bound(self, address: str, value: float, learn: bool = True) -> list[Command]:
        binding = self.bindings.get(address)
        if binding is not None:
            return [binding.command((value,))]
        if self.learn and learn and address not in self._learned and not address.startswith("midi/cc14/"):
            self._learned.add(address)
            log.warning('MIDI learn: %s -> bind it with [[binding]] address = "%s" target = "/vernissage/..."',
                        address, address)
        return []

    def _clock(self, at: float) -> list[Command]:
        self._pulses.append(at)
        if len(self._pulses) < self._pulses.maxlen:
            return []
        seconds = (self._pulses[-1] - self._pulses[0]) / (len(self._pulses) - 1) * PULSES_PER_BEAT
        if seconds <= 0:
            return []
        bpm = round(60.0 / seconds, 1)
        if not 20.0 <= bpm <= 300.0 or abs(bpm - self._tempo) < TEMPO_STEP:
            return []
        self._tempo = bpm
        return [SetTempo(bpm)]

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None


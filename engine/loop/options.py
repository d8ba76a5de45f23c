"""How a live show runs: the options of ``vernissage play`` as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.outputs.followers import MARGIN
from engine.outputs.health import MISSED_SHARE


@dataclass(frozen=True)
class PlayOptions:
    """How ``vernissage play`` runs."""

    fps: Fraction | None = None  # None: the display's refresh rate, else 60
    start: float | None = None  # None: the anchor's wall-clock time, else the registry's, else 0
    duration: float | None = None
    record: Path | None = None
    stats: bool = False
    stats_json: Path | None = None
    keyframes: Fraction | None = None  # None: chosen by the generator's measured speed, then adapted
    snapshots: Path = Path("snapshots")
    recordings: Path = Path("recordings")
    health: tuple[str, int] | None = None  # serve /health and /metrics here
    missed_share_limit: float = MISSED_SHARE  # missed refreshes over a minute above which health is degraded
    recordings_max_bytes: int | None = None  # cap on the recordings folder
    audio: str | None = None  # react to a sound card ("" the default one, a name or index) or a file
    reactivity: float = 1.0
    midi: str | None = None  # listen to a MIDI controller ("" the first port, or a port's name)
    midi_learn: bool = False  # name each unbound MIDI control in the log with its binding line
    ndi: str | None = None  # publish the clean picture as an NDI source of this name
    link: bool = False  # follow the tempo and beats of an Ableton Link session
    preview: bool = False  # the operator's preview and stats in the terminal, none on the display
    followers: tuple[tuple[str, int], ...] = ()  # a video wall's leader: send what it is told on to these
    follower_margin: float | None = MARGIN  # seconds ahead the leader and its followers apply it; None: measured


@dataclass(frozen=True)
class ControlOptions:
    """Live control: OSC, bindings, the shows folder, the performance log."""

    osc: int | None = None
    host: str = "127.0.0.1"
    allow: tuple[str, ...] = ()
    feedback: tuple[tuple[str, int], ...] = ()
    learn: bool = False
    bindings: Path | None = None
    shows: Path | None = None
    performance_log: Path | None = None

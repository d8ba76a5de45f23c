"""A headless live show under real OSC control on loopback, on a thread, for the OSC tests.

It runs the engine's own ``play`` wiring (engine.loop.run.LiveRun): the same loop, intake,
server and outputs as ``vernissage play --headless --osc``.
"""

from __future__ import annotations

import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image
from pythonosc.osc_bundle_builder import OscBundleBuilder

from engine.frames import FrameSource
from engine.inputs.osc_client import datagram
from engine.inputs.performance_log import RecordedPerformance, read_performance
from engine.inputs.wire import parse
from engine.loop.compositor import TextStyle
from engine.loop.program import Program, ProgramSpec
from engine.loop.run import ControlOptions, LiveRun, PlayOptions
from engine.outputs.display import HeadlessDisplay
from engine.render.settings import RenderSettings


def message(address: str, *args) -> bytes:
    return datagram(address, args)


def bundle(when: float, *messages: bytes) -> bytes:
    from pythonosc.osc_message import OscMessage

    builder = OscBundleBuilder(when)
    for dgram in messages:
        builder.add_content(OscMessage(dgram))
    return builder.build().dgram


class LivePlayer:
    """Plays ``source`` headless at ``fps`` with an OSC server on 127.0.0.1 (a free port)."""

    def __init__(self, tmp: Path, generator, source: FrameSource, fps: float = 30.0, size=(96, 96),
                 shows: Path | None = None, record: bool = True, allow=(), feedback=(), learn: bool = False) -> None:
        self.tmp = tmp
        self.fps = fps
        self.log_path = tmp / "performance.jsonl"
        self.frames_dir = tmp / "frames"
        self.summary: dict | None = None
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client.bind(("127.0.0.1", 0))
        self.client.settimeout(2.0)
        ready = threading.Event()
        self.run: LiveRun | None = None
        program = Program(ProgramSpec(walk="wander"), source, generator, Fraction(fps), RenderSettings(*size),
                          TextStyle(), None)
        options = PlayOptions(fps=Fraction(fps), record=self.frames_dir if record else None,
                              snapshots=tmp / "snapshots", recordings=tmp / "recordings")
        control = ControlOptions(osc=0, allow=tuple(allow), feedback=tuple(feedback), learn=learn, shows=shows,
                                 performance_log=self.log_path)

        def play() -> None:
            display = HeadlessDisplay(size)
            try:
                self.run = LiveRun(program, options, control, display)
                ready.set()
                self.summary = self.run.run()
            finally:
                ready.set()
                display.close()

        self.thread = threading.Thread(target=play, name="test-player", daemon=True)
        self.thread.start()
        assert ready.wait(60) and self.run is not None
        self.server = self.run.server
        while self.tick < 3:  # playing
            time.sleep(0.01)

    @property
    def tick(self) -> int:
        return self.run.loop.parts.pacer.tick

    @property
    def state(self):
        return self.run.state

    @property
    def show_time(self) -> float:
        return self.state.clock.time_at(self.tick)

    def send(self, address: str, *args) -> None:
        self.client.sendto(message(address, *args), (self.server.host, self.server.port))

    def send_raw(self, data: bytes) -> None:
        self.client.sendto(data, (self.server.host, self.server.port))

    def wait_applied(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.run.intake.applied < count:
            assert time.monotonic() < deadline, f"only {self.run.intake.applied} of {count} commands applied"
            time.sleep(0.005)

    def settle(self, ticks: int = 6) -> None:
        """Let ``ticks`` more frames be shown (scheduled changes land a few ticks ahead)."""
        until = self.tick + ticks
        while self.tick < until:
            time.sleep(0.005)

    def replies(self, timeout: float = 2.0) -> list[tuple[str, tuple]]:
        self.client.settimeout(timeout)
        data, _ = self.client.recvfrom(65536)
        return [(m.address, m.args) for m in parse(data)]

    def stop(self) -> RecordedPerformance:
        self.run.loop.quit()
        self.thread.join(30)
        self.client.close()
        return read_performance(self.log_path)

    def frames(self, performance: RecordedPerformance) -> dict[int, np.ndarray]:
        """Recorded frames by the tick they were shown at."""
        files = sorted(self.frames_dir.glob("*.png"))
        ticks = performance.shown_ticks()
        return {tick: np.asarray(Image.open(f)).astype(int) for tick, f in zip(ticks, files)}

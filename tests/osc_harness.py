"""A headless player under real OSC control on loopback, on a thread, for the OSC tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from pythonosc.osc_bundle_builder import OscBundleBuilder

from engine.composition import TextStyle
from engine.control.client import datagram
from engine.control.performance_log import PerformanceLog, read_performance
from engine.control.server import OscServer
from engine.frames import FrameSource
from engine.live.control import LiveControl
from engine.live.display import HeadlessDisplay
from engine.live.player import Player, PlayOptions
from engine.render import RenderSettings


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
                 load_show=None, record: bool = True, **server_options) -> None:
        self.tmp = tmp
        self.fps = fps
        self.server = OscServer("127.0.0.1", 0, **server_options)
        self.log_path = tmp / "performance.jsonl"
        self.frames_dir = tmp / "frames"
        self.player: Player | None = None
        self.summary: dict | None = None
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client.bind(("127.0.0.1", 0))
        self.client.settimeout(2.0)
        ready = threading.Event()

        def run() -> None:
            display = HeadlessDisplay(size)
            options = PlayOptions(fps=fps, record=self.frames_dir if record else None, snapshots=tmp / "snapshots",
                                  recordings=tmp / "recordings")

            def control(performance, rate):
                self.server.start()
                header = {"argv": [], "fps": fps, "keyframe_rate": rate, "start": 0.0, "size": list(size)}
                return LiveControl(performance, self.server, record=PerformanceLog(self.log_path, header))

            try:
                self.player = Player(source, generator, RenderSettings(*size), TextStyle(), display, options,
                                     control=control, load_show=load_show)
                ready.set()
                self.summary = self.player.run()
            finally:
                ready.set()
                display.close()

        self.thread = threading.Thread(target=run, name="test-player", daemon=True)
        self.thread.start()
        assert ready.wait(60)
        while self.player.pacer.tick < 3:  # playing
            time.sleep(0.01)

    def send(self, address: str, *args) -> None:
        self.client.sendto(message(address, *args), (self.server.host, self.server.port))

    def send_raw(self, data: bytes) -> None:
        self.client.sendto(data, (self.server.host, self.server.port))

    def wait_applied(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.server.counters.applied < count:
            assert time.monotonic() < deadline, f"only {self.server.counters.applied} of {count} commands applied"
            time.sleep(0.005)

    def settle(self, ticks: int = 6) -> None:
        """Let ``ticks`` more frames be shown (scheduled changes land a few ticks ahead)."""
        until = self.player.pacer.tick + ticks
        while self.player.pacer.tick < until:
            time.sleep(0.005)

    def replies(self, timeout: float = 2.0) -> list[tuple[str, tuple]]:
        from engine.control.wire import parse

        self.client.settimeout(timeout)
        data, _ = self.client.recvfrom(65536)
        return [(m.address, m.args) for m in parse(data)]

    def stop(self):
        self.player.quit()
        self.thread.join(30)
        self.client.close()
        return read_performance(self.log_path)

    def frames(self, performance) -> dict[int, np.ndarray]:
        """Recorded frames by the tick they were shown at."""
        files = sorted(self.frames_dir.glob("*.png"))
        ticks = performance.shown_ticks()
        return {tick: np.asarray(Image.open(f)).astype(int) for tick, f in zip(ticks, files)}

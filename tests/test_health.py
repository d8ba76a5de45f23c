"""The show's health never says healthy while the show misses its frames (driven on a fake clock)."""

from __future__ import annotations

from engine.outputs.base import ShownFrame
from engine.outputs.health import MISSED_SHARE, HealthOutput
from engine.status import Status


class Run:
    """A show shown at ``shown`` frames a second on a ``refresh`` Hz display, on a fake clock."""

    def __init__(self, limit: float = MISSED_SHARE, open_: bool = True) -> None:
        self.now = 0.0
        self.frames = self.late = self.stand_ins = 0
        self.open = open_
        self.health = HealthOutput(self.facts, now=lambda: self.now, missed_share_limit=limit)

    def facts(self) -> dict:
        return {"frames": self.frames, "missed_late": self.late, "missed_stand_in": self.stand_ins, "model": "m",
                "device": "cpu", "keyframe_rate": 1.0, "osc_received": 0, "recording_bytes": 0,
                "frame_buckets": (), "frame_seconds": 0.0, "open": self.open}

    def play(self, seconds: int, shown: int, refresh: int = 60, stand_ins: int = 0) -> None:
        status = Status("walk", 0.0, 0, 1.0, 0.0, 0, float(shown), self.late + self.stand_ins, "", 0)
        for _ in range(seconds * shown):
            self.now += 1.0 / shown
            self.frames += 1
            self.late += max(0, round(refresh / shown) - 1)  # refreshes that passed without a new frame
            own = stand_ins == 0 or self.frames % shown >= stand_ins
            self.stand_ins += 0 if own else 1
            self.health.shown(ShownFrame(self.frames, self.now, 1.0 / shown, 0, not own, self.now), lambda: status)


def test_a_show_missing_more_frames_than_it_shows_is_degraded_not_healthy():
    run = Run()
    run.play(20, shown=60)
    assert run.health.current().state == "healthy" and run.health.current().healthy
    run.play(70, shown=20)  # a 20-fps draw on a 60 Hz display: two refreshes in three missed
    health = run.health.current()
    assert health.state == "degraded" and not health.healthy
    assert 0.6 < health.missed_share < 0.7 and "refreshes missed their frame" in health.reason
    run.play(70, shown=60)  # the machine has room again: a minute later it is healthy
    assert run.health.current().state == "healthy"


def test_stand_ins_count_as_missed_and_the_limit_is_the_operators():
    strict, lenient = Run(limit=0.05), Run(limit=0.5)
    for run in (strict, lenient):
        run.play(61, shown=60, stand_ins=6)  # a tenth of the frames stood in for
    assert strict.health.current().state == "degraded"
    assert lenient.health.current().state == "healthy"
    assert abs(strict.health.current().missed_share - 0.1) < 0.02


def test_a_closed_show_is_not_degraded_and_a_stuck_one_is_unhealthy():
    closed = Run(open_=False)
    closed.play(61, shown=1)  # closed: a black frame a second is all it shows
    assert closed.health.current().state == "healthy"
    stuck = Run()
    stuck.play(10, shown=60)
    stuck.now += 30.0  # no frame for 30 s
    assert stuck.health.current().state == "unhealthy" and not stuck.health.current().healthy

"""Keeping an anchored show where the wall clock says: drift is slewed away, never jumped.

Show time comes from display ticks. A display that refreshes at 59.94 Hz while reporting 60
makes an anchored show lose 86 s a day against the wall clock; NTP can step the wall clock.
Once a second the loop compares the show time with the anchor's; a drift of more than a
frame is taken back by running a little fast or slow (at most half a percent: no one sees
it), and a step of seconds (the machine slept, the clock was set) by a seek. As soon as a
performer moves the show in time (a seek, a cue, a pause, a speed), the show is where they
put it and the lock lets go.
"""

from __future__ import annotations

MAX_SLEW = 0.005  # at most 0.5 % fast or slow
CORRECT_OVER = 10.0  # seconds a drift is taken back over (until the slew limit)
JUMP_BEYOND = 5.0  # seconds of drift that a seek corrects instead


class AnchorLock:
    """Decides the speed (or a seek) that brings show time back to the anchor's time."""

    def __init__(self, fps: float) -> None:
        self.frame = 1.0 / fps
        self.speed = 1.0

    def update(self, show_time: float, wall_time: float) -> tuple[str, float] | None:
        """("speed", s) or ("seek", t) to apply, or None to leave things as they are."""
        error = show_time - wall_time  # positive: the show is ahead of the wall clock
        if abs(error) > JUMP_BEYOND:
            self.speed = 1.0
            return "seek", wall_time
        if abs(error) <= self.frame:
            if self.speed == 1.0:
                return None
            self.speed = 1.0
            return "speed", 1.0
        speed = 1.0 - max(-MAX_SLEW, min(MAX_SLEW, error / CORRECT_OVER))
        if abs(speed - self.speed) < 1e-4:
            return None
        self.speed = speed
        return "speed", speed


FOLLOWER_JUMP = 0.5  # seconds behind or ahead of the leader that a follower seeks instead of slewing
FOLLOWER_SLEW = 0.02  # at most 2 % fast or slow: music moves a show's pace far more than that anyway
FOLLOWER_CORRECT_OVER = 2.0  # seconds a follower's drift is taken back over


class LeaderLock:
    """A video wall's follower keeping to its leader's show time (``/vernissage/wall/sync``):
    drift slewed by running a little fast or slow around the show's own speed (its resume
    speed: the music's pushes ride on top, as on the leader), a step of more than FOLLOWER_JUMP
    (a follower started late, or restarted after the leader moved the show) sought. Replaces
    the anchor lock on a follower: the leader is its clock."""

    def __init__(self, fps: float) -> None:
        self.frame = 1.0 / fps
        self.factor = 1.0  # the slew applied to the show's own speed now

    def update(self, show_time: float, leader_time: float, speed: float,
               paused: bool = False) -> tuple[str, float] | None:
        """("speed", s) or ("seek", t), or None; ``speed`` is the show's own speed now (its
        resume speed, slew included)."""
        if paused or speed == 0.0:  # the leader's pause is relayed; nothing drifts
            return None
        own = speed / self.factor
        error = show_time - leader_time  # positive: the follower is ahead
        if abs(error) > FOLLOWER_JUMP:
            self.factor = 1.0
            return "seek", leader_time
        slew = max(-FOLLOWER_SLEW, min(FOLLOWER_SLEW, error / FOLLOWER_CORRECT_OVER))
        factor = 1.0 if abs(error) <= self.frame else 1.0 - slew
        if abs(factor - self.factor) < 1e-4:
            return None
        self.factor = factor
        return "speed", own * factor

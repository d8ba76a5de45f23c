"""OSC feedback: the show's state after every frame, handed to the OSC server to send.

The server's own thread answers /vernissage/status and sends to subscribers; this output
only publishes the latest state (one reference), so the frame thread never sends or touches
the subscriber table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine.outputs.base import Output, ShownFrame
from engine.status import Status


class Publisher(Protocol):
    def publish(self, status: Status) -> None: ...


class FeedbackOutput(Output):
    def __init__(self, server: Publisher) -> None:
        self.server = server

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        self.server.publish(status())

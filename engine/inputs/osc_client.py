"""``vernissage osc send``: a tiny client for technicians testing a setup."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from pythonosc.osc_message_builder import OscMessageBuilder

from engine.inputs.wire import WireError, parse


def typed(text: str) -> int | float | str:
    """A command-line argument as OSC would carry it: int, float, else string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def datagram(address: str, args: list[int | float | str] | tuple = ()) -> bytes:
    """One OSC message as the bytes of a UDP datagram."""
    message = OscMessageBuilder(address)
    for arg in args:
        message.add_arg(arg)
    return message.build().dgram


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody listens on now (for a show started next, in tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_show(port: int, running: Callable[[], bool], timeout: float = 60.0, host: str = "127.0.0.1") -> bool:
    """Ask /vernissage/status until a show answers; False once ``running()`` is false or time is up."""
    deadline = time.monotonic() + timeout
    while not send("/vernissage/status", [], host, port, wait=0.2):
        if time.monotonic() > deadline or not running():
            return False
    return True


def send(address: str, args: list[int | float | str], host: str = "127.0.0.1", port: int = 9000,
         wait: float = 0.0) -> list[tuple[str, tuple]]:
    """Send one message; with ``wait`` > 0, return the messages answered within that many seconds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        sock.sendto(datagram(address, args), (host, port))
        replies: list[tuple[str, tuple]] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(65536)
            except (TimeoutError, socket.timeout):
                break
            try:
                replies += [(m.address, m.args) for m in parse(data)]
            except WireError:
                continue
        return replies

"""The OSC server: UDP datagrams in, checked commands out, feedback back, on a thread of its own.

One thread owns the socket: it reads datagrams in order (python-osc's threading server loses
the order), drops senders outside the allow-list, parses defensively (engine.inputs.wire),
checks each message against the address map or the bindings, queues commands for the frame
loop, answers ``/vernissage/status`` and sends feedback. Fader moves coalesce to the latest
value per address, so a flood can delay nothing but itself; bundles with a time tag wait
until the frame they name. Limits count messages, not datagrams: a bundle of 250
``/portrait/next`` is 250 against :data:`MESSAGES_PER_SECOND`, and triggers (everything but
fader moves and status queries) have a budget of their own, :data:`TRIGGERS_PER_SECOND`, far
above what hands or a controller send (100 bundles of 250 once cost 280 missed frames in 10 s).
Problems are counted and logged, one line per kind per 10 s.

The frame loop never touches the socket or the subscriber table: it publishes the latest
:class:`~engine.status.Status` (one reference, replaced whole) and wakes this thread when a
field that subscribers follow changes. Every structure here has one owner.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from engine.commands import Command, SetFader
from engine.inputs.addresses import ControlError, check, find_address, is_query
from engine.inputs.bindings import Binding
from engine.inputs.wire import MAX_DATAGRAM, WireError, parse
from engine.ratelimit import RateLimitedLog
from engine.status import Status

log = logging.getLogger(__name__)
QUEUE_LIMIT = 256  # triggers waiting for the next frame (fader moves coalesce and do not count)
SCHEDULE_LIMIT = 1024  # timed bundle messages waiting for their frame
SCHEDULE_PER_SENDER = 64  # one sender cannot fill the schedule for everyone
SCHEDULE_HORIZON = 3600.0  # seconds: a time tag further ahead is a sender's clock error
MESSAGES_PER_SECOND = 4000  # beyond this, messages are dropped (datagrams unparsed once it is spent)
TRIGGERS_PER_SECOND = 120  # discrete commands (next face, cues, record...) a second, all senders together
SUBSCRIBER_LIMIT = 8
SUBSCRIPTION_SECONDS = 600.0
EXPOSED_SUBSCRIPTION_SECONDS = 30.0  # open to any sender: an answer address may be spoofed
ANSWER_INTERVAL = 0.25  # seconds between two answers to one address (a /status flood is not amplified)
ANSWERED_KEPT = 1024
FEEDBACK_EVERY = 1.0
RECEIVE_BUFFER = 1 << 20


@dataclass(frozen=True)
class Incoming:
    """A command, who sent it, when it arrived (perf_counter) and when it is due (None: now)."""

    command: Command
    sender: tuple[str, int]
    received: float
    due: float | None = None


@dataclass
class Counters:
    """Written by the socket thread only; the frame loop reads them (ints: a torn read cannot happen)."""

    received: int = 0
    rejected: int = 0  # unknown address, wrong type, count or range
    malformed: int = 0  # not OSC at all
    refused: int = 0  # senders outside the allow-list
    flooded: int = 0  # dropped by the rate limit or a full queue


def parse_networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``["192.168.1.0/24", "10.0.0.5"]`` -> networks; ValueError names the bad entry."""
    networks = []
    for text in cidrs:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"--osc-allow {text!r} is not an address or a CIDR block like 192.168.1.0/24") from None
    return networks


def status_datagram(status: Status) -> bytes:
    """One bundle: ``/vernissage/status/<field> value`` for each field, then ``/vernissage/status``
    with every field in order (labels follow the first, scripts read the second)."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    summary = OscMessageBuilder("/vernissage/status")
    for key, value in status.items():
        summary.add_arg(value)
        field_message = OscMessageBuilder(f"/vernissage/status/{key}")
        field_message.add_arg(value)
        bundle.add_content(field_message.build())
    bundle.add_content(summary.build())
    return bundle.build().dgram


class CommandQueue:
    """Thread-safe, bounded, coalescing: the hand-over between the server and the frame loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[object, Incoming] = OrderedDict()
        self._scheduled: list[Incoming] = []
        self._sequence = 0
        self._triggers = 0  # items in _items that are not fader moves (counted: a flood made this O(n))

    def put(self, item: Incoming) -> bool:
        """False when the queue is full (the item is dropped)."""
        with self._lock:
            if item.due is not None:
                mine = sum(1 for i in self._scheduled if i.sender == item.sender)
                if len(self._scheduled) >= SCHEDULE_LIMIT or mine >= SCHEDULE_PER_SENDER:
                    return False
                self._scheduled.append(item)
                return True
            if isinstance(item.command, SetFader):
                key: object = item.command.fader
                self._items.pop(key, None)  # the latest move, at the position of the latest arrival
            else:
                if self._triggers >= QUEUE_LIMIT:
                    return False
                self._sequence += 1
                self._triggers += 1
                key = self._sequence
            self._items[key] = item
            return True

    def take(self, now: float) -> list[Incoming]:
        """Everything due by ``now`` (perf_counter): timed items first, in time order."""
        with self._lock:
            due = sorted((i for i in self._scheduled if i.due is not None and i.due <= now), key=lambda i: i.due or 0.0)
            if due:
                self._scheduled = [i for i in self._scheduled if i.due is not None and i.due > now]
            ready = list(self._items.values())
            self._items.clear()
            self._triggers = 0
        return due + ready


class OscServer:
    """Listens on ``host:port`` (port 0 picks a free one: read :attr:`port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9000, allow: Iterable[str] = (),
                 bindings: Iterable[Binding] = (), feedback: Iterable[tuple[str, int]] = (),
                 learn: bool = False) -> None:
        self.allow = parse_networks(allow)
        self.bindings = {b.address: b for b in bindings}
        self.targets = list(feedback)
        self.learn = learn
        self.queue = CommandQueue()
        self.counters = Counters()
        self.problems = RateLimitedLog(log)
        # owned by the socket thread:
        self._subscribers: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._requests: deque[tuple[str, int]] = deque(maxlen=64)
        self._answered: OrderedDict[str, float] = OrderedDict()  # sender host -> when last answered
        self._broadcast_at = 0.0
        # published by the frame loop, read by the socket thread:
        self._status: Status | None = None
        self._followed: tuple[object, ...] | None = None  # the frame loop's own copy
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._socket.bind((host, port))
        except (OSError, OverflowError) as exc:
            self._socket.close()
            reason = getattr(exc, "strerror", None) or exc
            raise OSError(f"cannot listen for OSC on {host}:{port} ({reason})") from None
        self._socket.setblocking(False)
        try:  # bursts from many controllers at once wait in the kernel, not dropped (capped by rmem_max)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass
        self.host, self.port = self._socket.getsockname()[:2]
        self.exposed = not ipaddress.ip_address(self.host).is_loopback and not self.allow
        self.subscription_seconds = EXPOSED_SUBSCRIPTION_SECONDS if self.exposed else SUBSCRIPTION_SECONDS
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._stop = threading.Event()
        self._window = (0.0, 0)  # (second began, messages in it)
        self._triggers_window = (0.0, 0)
        self._thread = threading.Thread(target=self._serve, name="osc-server", daemon=True)
        if self.exposed:
            log.warning("OSC listens on %s:%d for any sender; --osc-allow limits who may control the show",
                        self.host, self.port)

    def start(self) -> None:
        self._thread.start()
        log.info("OSC: listening on %s:%d%s", self.host, self.port,
                 f", allowing {', '.join(map(str, self.allow))}" if self.allow else "")

    def close(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        for sock in (self._socket, self._wake_read, self._wake_write):
            sock.close()

    # --- what the frame loop calls ------------------------------------------------------------------

    def publish(self, status: Status) -> None:
        """The show's state after a frame: answers go out with it; a change of a followed field
        (cue, pause, recording, tempo lock) is sent to subscribers at once."""
        self._status = status
        if status.discrete != self._followed:
            self._followed = status.discrete
            self._wake()

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"\0")
        except OSError:  # the pipe is full: a wake-up is already pending
            pass

    # --- the socket thread -------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            timeout = max(0.0, self._broadcast_at + FEEDBACK_EVERY - time.perf_counter())
            try:
                readable, _, _ = select.select([self._socket, self._wake_read], [], [], timeout)
            except (OSError, ValueError):
                return  # closed under us: shutting down
            try:
                if self._wake_read in readable:
                    self._drain_wake()
                    self._broadcast()
                if self._socket in readable:
                    self._read_all()
                if self._requests:
                    self._answer()
                if time.perf_counter() >= self._broadcast_at + FEEDBACK_EVERY:
                    self._broadcast()
            except Exception as exc:  # noqa: BLE001 - the server thread must outlive anything
                self.problems.warning("internal", f"OSC: {type(exc).__name__}: {exc}")

    def _drain_wake(self) -> None:
        try:
            while self._wake_read.recv(256):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _read_all(self) -> None:
        for _ in range(256):  # then look at the wake-up pipe and the clock again
            try:
                data, sender = self._socket.recvfrom(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable echoed back on some systems
                self.problems.warning("socket", f"OSC: receive failed ({exc.strerror or exc})")
                return
            try:
                self.receive(data, sender[:2], time.perf_counter())
            except Exception as exc:  # noqa: BLE001 - one packet must never end the server
                self.counters.malformed += 1
                self.problems.warning("internal", f"OSC: packet from {sender[0]} dropped ({type(exc).__name__}: {exc})")

    def _allowed(self, host: str) -> bool:
        if not self.allow:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.allow)

    def _spent(self, now: float) -> bool:
        """Whether this second's message budget is used up (a datagram is then not even parsed)."""
        start, count = self._window
        if now - start >= 1.0:
            self._window = (now, 0)
            self._triggers_window = (now, 0)
            return False
        return count >= MESSAGES_PER_SECOND

    def _admit(self, count: int) -> int:
        """How many of ``count`` messages this second's budget takes (all are charged)."""
        start, used = self._window
        self._window = (start, used + count)
        return max(0, min(count, MESSAGES_PER_SECOND - used))

    def _admit_trigger(self) -> bool:
        start, used = self._triggers_window
        self._triggers_window = (start, used + 1)
        return used < TRIGGERS_PER_SECOND

    def receive(self, data: bytes, sender: tuple[str, int], now: float) -> None:
        """Handle one datagram (the socket thread calls this)."""
        c = self.counters
        if not self._allowed(sender[0]):
            c.refused += 1
            self.problems.warning("refused", f"OSC: refused a packet from {sender[0]} (not in --osc-allow)")
            return
        if self._spent(now):
            c.flooded += 1
            self.problems.warning("flood", f"OSC: more than {MESSAGES_PER_SECOND} messages/s; dropping the excess")
            return
        try:
            messages = parse(data)
        except WireError as exc:
            c.malformed += 1
            self.problems.warning("malformed", f"OSC: malformed packet from {sender[0]} ({exc})")
            return
        admitted = self._admit(len(messages))
        if admitted < len(messages):
            c.flooded += len(messages) - admitted
            self.problems.warning("flood", f"OSC: more than {MESSAGES_PER_SECOND} messages/s; dropping the excess")
        wall = time.time()
        for message in messages[:admitted]:
            c.received += 1
            self._dispatch(message.address, message.args, sender, now,
                           None if message.when is None or message.when <= wall else now + (message.when - wall))

    def _dispatch(self, address: str, args: tuple[object, ...], sender: tuple[str, int], now: float,
                  due: float | None) -> None:
        c = self.counters
        try:
            binding = self.bindings.get(address)
            command = binding.command(args) if binding else check(address, args)
        except ControlError as exc:
            c.rejected += 1
            if self.learn and address not in self.bindings and not address.startswith("/vernissage/"):
                self.problems.warning(f"learn {address[:80]}", f"OSC learn: {address[:80]} {list(args)[:4]} -> bind it "
                                      f"with [[binding]] address = \"{address[:80]}\" target = \"/vernissage/...\"")
            else:  # one log key per known address; garbage addresses share one, so they cannot flood the log
                known = find_address(address) is not None or address in self.bindings
                self.problems.warning(f"rejected {address}" if known else "unknown", f"OSC: ignored {exc}")
            return
        if binding is None and is_query(address):
            if self.exposed and not self._may_answer(sender[0], now):
                c.flooded += 1
                return
            self._subscribe(sender, now)
            if self._status is None:
                self._requests.append(sender)  # no frame shown yet: answered with the first
            else:
                self._send(status_datagram(self._status), [sender])
            return
        if command is None:
            return  # a button's release
        if not isinstance(command, SetFader) and not self._admit_trigger():
            c.flooded += 1
            self.problems.warning("triggers", f"OSC: more than {TRIGGERS_PER_SECOND} commands/s; dropping the excess")
            return
        if due is not None and due - now > SCHEDULE_HORIZON:
            c.rejected += 1
            self.problems.warning("horizon", f"OSC: {address} is timed {due - now:.0f} s ahead; ignored (clock error?)")
            return
        if not self.queue.put(Incoming(command, sender, now, due)):
            c.flooded += 1
            self.problems.warning("queue", "OSC: the command queue is full; dropping commands")

    def _may_answer(self, host: str, now: float) -> bool:
        """Open to any sender, at most one answer per ANSWER_INTERVAL to one address: a flood of
        spoofed /status requests cannot turn the show into an amplifier."""
        last = self._answered.pop(host, None)
        if last is not None and now - last < ANSWER_INTERVAL:
            self._answered[host] = last
            return False
        self._answered[host] = now
        while len(self._answered) > ANSWERED_KEPT:
            self._answered.popitem(last=False)
        return True

    def _subscribe(self, sender: tuple[str, int], now: float) -> None:
        self._subscribers.pop(sender, None)
        self._subscribers[sender] = now
        while len(self._subscribers) > SUBSCRIBER_LIMIT:
            self._subscribers.popitem(last=False)

    def _answer(self) -> None:
        """Send the first status to everyone who asked before there was one."""
        status = self._status
        if status is None:
            return  # no frame shown yet; they are answered once one is
        to = list(dict.fromkeys(self._requests))
        self._requests.clear()
        self._send(status_datagram(status), to)

    def _broadcast(self) -> None:
        """Send the latest status to the configured targets and recent askers."""
        now = time.perf_counter()
        self._broadcast_at = now
        status = self._status
        if status is None:
            return
        for sender, since in list(self._subscribers.items()):
            if now - since > self.subscription_seconds:
                del self._subscribers[sender]
        self._send(status_datagram(status), self.targets + [s for s in self._subscribers if s not in self.targets])

    def _send(self, dgram: bytes, to: list[tuple[str, int]]) -> None:
        for target in to:
            try:
                self._socket.sendto(dgram, target)
            except OSError as exc:
                self.problems.warning(f"send {target[0]}", f"OSC: cannot answer {target[0]}:{target[1]} ({exc.strerror or exc})")

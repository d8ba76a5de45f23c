"""``play --health HOST:PORT``: /health (JSON) and /metrics (Prometheus) over HTTP.

The person in charge of an exhibition checks from elsewhere that it is running: /health is
200 with the show's state while it is healthy and 503 when it is not; /metrics serves the
same figures, the frame-time histogram and the process's own (memory, file descriptors, CPU)
in Prometheus' text format, for a dashboard and alerts. The server runs on threads of its
own and only reads the latest :class:`~engine.outputs.health.Health` snapshot.

It cannot be used to starve the show: a connection that sends nothing (slowloris, a bare
HTTP/0.9 line) is dropped after :data:`IDLE_SECONDS`, and at most :data:`MAX_CONNECTIONS` are
open at once: one more closes the oldest (118 idle connections once took every file descriptor
the show had, and recording, snapshots and /health itself failed). A real scrape is answered
in milliseconds, so it is never the oldest for long: a flood of idle connections evicts itself.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector

from engine.outputs.health import FRAME_BUCKETS, Health

log = logging.getLogger(__name__)
IDLE_SECONDS = 5.0  # a request must arrive within this
MAX_CONNECTIONS = 16  # served at once; a monitoring system needs one or two


class BoundedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps at most :data:`MAX_CONNECTIONS` open, the newest."""

    daemon_threads = True
    block_on_close = False  # closing never waits for a slow client
    request_queue_size = 128  # socketserver's 5 left a burst of connections waiting seconds on SYN retries

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._lock = threading.Lock()
        self._open: dict[socket.socket, None] = {}  # in the order accepted
        self.evicted = 0

    def process_request(self, request: socket.socket, client_address) -> None:  # type: ignore[override]
        with self._lock:
            while len(self._open) >= MAX_CONNECTIONS:
                oldest = next(iter(self._open))
                del self._open[oldest]
                self.evicted += 1
                try:  # its thread's read returns at once, and the thread ends
                    oldest.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._open[request] = None
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._open.pop(request, None)


class _Figures:
    """A Prometheus collector over the latest health snapshot (nothing is counted twice)."""

    def __init__(self, health: Callable[[], Health]) -> None:
        self.health = health

    def collect(self) -> Iterator:
        h = self.health()
        yield CounterMetricFamily("vernissage_frames", "Frames shown", value=h.frames)
        yield CounterMetricFamily("vernissage_missed_frames", "Frames late or shown with a stand-in keyframe",
                                  value=h.missed)
        yield GaugeMetricFamily("vernissage_fps", "Frames a second, lately", value=h.fps)
        yield GaugeMetricFamily("vernissage_keyframe_rate", "Keyframes generated a second of show time",
                                value=h.keyframe_rate)
        yield GaugeMetricFamily("vernissage_healthy", "1 while frames come, keyframes are fresh and few frames are missed",
                                value=int(h.healthy))
        yield GaugeMetricFamily("vernissage_degraded", "1 while more refreshes miss their frame than the limit",
                                value=int(h.state == "degraded"))
        yield GaugeMetricFamily("vernissage_missed_share", "Refreshes without their own frame, last minute (0..1)",
                                value=h.missed_share)
        yield GaugeMetricFamily("vernissage_cadence", "Refreshes each frame is shown for (the draw's even pace)",
                                value=h.cadence)
        yield GaugeMetricFamily("vernissage_missed_share_limit", "Missed share above which the show is degraded",
                                value=h.missed_share_limit)
        yield GaugeMetricFamily("vernissage_open", "1 within opening hours", value=int(h.open))
        if h.clock_synchronised is not None:
            yield GaugeMetricFamily("vernissage_clock_synchronised", "1 while the kernel says the wall clock is "
                                    "disciplined (NTP/PTP)", value=int(h.clock_synchronised))
            yield GaugeMetricFamily("vernissage_clock_error_ms", "The kernel's estimated error of the wall clock",
                                    value=h.clock_error_ms or 0.0)
        yield GaugeMetricFamily("vernissage_uptime_seconds", "Seconds since the show started", value=h.uptime)
        yield CounterMetricFamily("vernissage_osc_messages", "OSC messages received", value=h.osc_received)
        yield CounterMetricFamily("vernissage_osc_errors", "OSC messages and commands ignored", value=h.osc_errors)
        yield GaugeMetricFamily("vernissage_recording_bytes", "Bytes of the recording in progress",
                                value=h.recording_bytes)
        if h.frame_buckets:
            buckets = [(f"{edge:g}", count) for edge, count in zip(FRAME_BUCKETS, h.frame_buckets)]
            yield HistogramMetricFamily("vernissage_frame_seconds", "Time between shown frames",
                                        buckets=buckets + [("+Inf", max(0, h.frames - 1))], sum_value=h.frame_seconds)


class HealthServer:
    """Serves ``health()`` on ``host:port`` (port 0 picks a free one: read :attr:`port`)."""

    def __init__(self, host: str, port: int, health: Callable[[], Health]) -> None:
        registry = CollectorRegistry()
        registry.register(_Figures(health))
        ProcessCollector(registry=registry)  # memory, file descriptors, CPU of this process

        class Handler(BaseHTTPRequestHandler):
            timeout = IDLE_SECONDS  # the socket's: reading the request, and writing the reply

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                path = self.path.split("?")[0]
                if path == "/health":
                    h = health()
                    self._reply(200 if h.healthy else 503, "application/json",
                                json.dumps(h.as_json(), indent=2).encode())
                elif path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                else:
                    self._reply(404, "text/plain", b"/health or /metrics\n")

            def _reply(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
                pass  # every scrape in the journal would be noise

        try:
            self._server = BoundedHTTPServer((host, port), Handler)
        except (OSError, OverflowError) as exc:
            raise OSError(f"cannot serve health on {host}:{port} ({getattr(exc, 'strerror', None) or exc})") from None
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("health: http://%s:%d/health and /metrics", self.host, self.port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

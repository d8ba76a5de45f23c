"""``play --health HOST:PORT``: /health (JSON) and /metrics (Prometheus) over HTTP.

The person in charge of an exhibition checks from elsewhere that it is running: /health is
200 with the show's state while it is healthy and 503 when it is not; /metrics serves the
same figures, the frame-time histogram and the process's own (memory, file descriptors, CPU)
in Prometheus' text format, for a dashboard and alerts. The server runs on threads of its
own and only reads the latest :class:`~engine.outputs.health.Health` snapshot.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector

from engine.outputs.health import FRAME_BUCKETS, Health

log = logging.getLogger(__name__)


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
        yield GaugeMetricFamily("vernissage_healthy", "1 while frames come and keyframes are fresh",
                                value=int(h.healthy))
        yield GaugeMetricFamily("vernissage_open", "1 within opening hours", value=int(h.open))
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
            self._server = ThreadingHTTPServer((host, port), Handler)
        except (OSError, OverflowError) as exc:
            raise OSError(f"cannot serve health on {host}:{port} ({getattr(exc, 'strerror', None) or exc})") from None
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("health: http://%s:%d/health and /metrics", self.host, self.port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""The OSC options of ``vernissage play`` and ``vernissage osc send``, and what they build."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from engine.control.bindings import Binding, load_bindings
from engine.control.performance_log import PerformanceLog
from engine.control.server import OscServer, parse_networks


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 192.168.1.20:9001")
    return host.strip("[]"), number


def _cidr(text: str) -> str:
    try:
        parse_networks([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_osc_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("OSC control (see the README's address table)")
    g.add_argument("--osc", type=int, default=None, metavar="PORT", help="listen for OSC on this UDP port")
    g.add_argument("--osc-host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 for the whole network)")
    g.add_argument("--osc-allow", type=_cidr, action="append", default=[], metavar="CIDR",
                   help="accept only senders in this block, e.g. 192.168.1.0/24 (repeatable)")
    g.add_argument("--osc-feedback", type=_host_port, action="append", default=[], metavar="HOST:PORT",
                   help="also send /vernissage/status here on every change (repeatable)")
    g.add_argument("--osc-learn", action="store_true",
                   help="log each unknown address once with a [[binding]] to paste (learn mode)")
    g.add_argument("--bindings", type=Path, default=None,
                   help="a TOML file of [[binding]] tables (a show's own [[binding]] tables count too)")
    g.add_argument("--shows", type=Path, default=None,
                   help="folder /vernissage/show/load may load from (default: the show's folder, else shows/)")
    g.add_argument("--performance-log", type=Path, default=None,
                   help="log every applied command with its frame here (default with --osc: performances/DATE.jsonl)")
    g.add_argument("--recordings", type=Path, default=Path("recordings"),
                   help="folder for /vernissage/record/start files (default recordings/)")


def add_osc_command(sub: argparse._SubParsersAction) -> None:
    osc = sub.add_parser("osc", help="talk OSC to a running show (testing a setup)")
    osc_sub = osc.add_subparsers(dest="osc_command", required=True)
    send = osc_sub.add_parser("send", help="send one message, e.g. vernissage osc send /vernissage/render/fade 1")
    send.add_argument("address")
    send.add_argument("args", nargs="*", help="arguments: integers, floats, else strings")
    send.add_argument("--host", default="127.0.0.1")
    send.add_argument("--port", type=int, default=9000)
    send.add_argument("--wait", type=float, default=None,
                      help="seconds to wait for answers (default: 1 for /vernissage/status, else 0)")


def bindings_for(args: argparse.Namespace, show_path: Path | None) -> list[Binding]:
    bindings: list[Binding] = []
    if show_path is not None:
        bindings += load_bindings(show_path)
    if args.bindings is not None:
        bindings += load_bindings(args.bindings)
    return bindings


def open_server(args: argparse.Namespace, bindings: list[Binding]) -> OscServer | None:
    if args.osc is None:
        return None
    return OscServer(args.osc_host, args.osc, args.osc_allow, bindings, args.osc_feedback, args.osc_learn)


def open_performance_log(args: argparse.Namespace, header: Callable[[], dict]) -> PerformanceLog | None:
    path = args.performance_log
    if path is None and args.osc is not None:
        path = Path("performances") / f"{dt.datetime.now():%Y%m%d-%H%M%S}.jsonl"
    return PerformanceLog(path, header()) if path is not None else None

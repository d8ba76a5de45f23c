"""Defensive OSC parsing on top of python-osc.

python-osc pads a truncated argument with zeros (a cut fader packet reads 0.0) and lets a
non-UTF-8 string raise: every datagram is therefore size-checked against its own type tags
before it is parsed, and any failure is one :class:`WireError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

FIXED_SIZES = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "d": 8, "h": 8, "t": 8, "T": 0, "F": 0, "N": 0, "I": 0}
MAX_DATAGRAM = 8192


class WireError(ValueError):
    """A datagram that is not a well-formed OSC packet."""


@dataclass(frozen=True)
class Received:
    address: str
    args: tuple[object, ...]
    when: float | None  # a bundle's time tag (Unix seconds), None for "now"


def _padded_string_end(data: bytes, start: int) -> int:
    end = data.find(b"\0", start)
    if end < 0:
        raise WireError("string without its terminating zero")
    return start + ((end - start) // 4 + 1) * 4


def _check_message(data: bytes) -> None:
    """Raise unless ``data`` is exactly one message whose size matches its type tags."""
    at = _padded_string_end(data, 0)
    if at >= len(data) or data[at:at + 1] != b",":
        if at == len(data):
            return  # no type tag string: an old-style message without arguments
        raise WireError("no type tag string")
    tags_end = _padded_string_end(data, at)
    tags = data[at + 1:data.find(b"\0", at)].decode("ascii", errors="strict")
    size = tags_end
    for tag in tags:
        if tag in FIXED_SIZES:
            size += FIXED_SIZES[tag]
        elif tag in "sS":
            size = _padded_string_end(data, size)
        elif tag == "b":
            if size + 4 > len(data):
                raise WireError("blob without its size")
            (length,) = struct.unpack(">i", data[size:size + 4])
            size += 4 + ((length + 3) // 4) * 4
        elif tag in "[]":
            continue
        else:
            raise WireError(f"unsupported type tag {tag!r}")
        if size > len(data):
            raise WireError("truncated arguments")
    if size != len(data):
        raise WireError(f"{len(data) - size} stray bytes after the arguments")


def _check_packet(data: bytes) -> None:
    if OscBundle.dgram_is_bundle(data):
        at = 16
        while at < len(data):
            if at + 4 > len(data):
                raise WireError("truncated bundle")
            (length,) = struct.unpack(">i", data[at:at + 4])
            if length <= 0 or length % 4 or at + 4 + length > len(data):
                raise WireError("bundle element of a wrong size")
            _check_packet(data[at + 4:at + 4 + length])
            at += 4 + length
    elif OscMessage.dgram_is_message(data):
        _check_message(data)
    else:
        raise WireError("neither a message nor a bundle")


def parse(data: bytes) -> list[Received]:
    """Messages of one datagram, in time order; WireError for anything malformed."""
    if not data or len(data) > MAX_DATAGRAM or len(data) % 4:
        raise WireError(f"a datagram of {len(data)} bytes (OSC packets are 4-byte aligned, at most {MAX_DATAGRAM})")
    try:
        _check_packet(data)
        packet = OscPacket(data)
        bundled = OscBundle.dgram_is_bundle(data)
        return [Received(m.message.address, tuple(m.message.params), m.time if bundled else None)
                for m in packet.messages]
    except WireError:
        raise
    except (UnicodeDecodeError, struct.error, IndexError) as exc:
        raise WireError(f"undecodable ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - python-osc raises its ParseError and plain exceptions
        raise WireError(f"unparseable ({exc})"[:120]) from None

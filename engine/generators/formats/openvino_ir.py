"""OpenVINO IR (v10/v11) read as data: the graph's layers and edges, and its constants as arrays.

An IR is an XML graph plus a ``.bin`` of raw constants addressed by ``offset``/``size``. Nothing
here runs the graph or any code: it is parsed with the standard library, and every constant is
checked before it is read (a known element type, a shape whose element count matches ``size``,
``offset + size`` inside the file, finite values). A hostile XML cannot expand entities: a
document type declaration is refused before parsing.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.generators.errors import ModelError

MAX_XML_BYTES = 8 << 20  # the FFHQ synthesis graph is 0.4 MB
ELEMENT_TYPES = {"f32": np.float32, "f16": np.float16, "i64": np.int64, "i32": np.int32, "u8": np.uint8}


@dataclass(frozen=True)
class Layer:
    """One node: its id, type, name, ``<data>`` attributes and output shape."""

    id: str
    type: str
    name: str
    data: dict[str, str]
    shape: tuple[int, ...]


@dataclass
class IRGraph:
    """The parsed graph: layers by id (in file order, which IR keeps topological) and edges."""

    xml_path: Path
    weights: bytes
    layers: dict[str, Layer] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)  # layer id -> producer ids by port
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def of_type(self, kind: str) -> list[Layer]:
        return [layer for layer in self.layers.values() if layer.type == kind]

    def producer(self, layer: Layer, port: int) -> Layer:
        ids = self.inputs.get(layer.id, [])
        if port >= len(ids):
            raise ModelError(self.xml_path, f"layer {layer.name!r} lacks input {port}")
        return self.layers[ids[port]]

    def consumer(self, layer: Layer, kind: str) -> Layer:
        """The one consumer of ``layer`` of type ``kind``."""
        found = [self.layers[c] for c in self.consumers.get(layer.id, []) if self.layers[c].type == kind]
        if len(found) != 1:
            raise ModelError(self.xml_path, f"layer {layer.name!r} feeds {len(found)} {kind} layers, expected 1")
        return found[0]

    def constant_input(self, layer: Layer, port: int) -> np.ndarray:
        """The constant feeding ``layer`` at ``port``, through any Reshape of a constant."""
        source = self.producer(layer, port)
        if source.type == "Reshape":
            source = self.producer(source, 0)
        if source.type != "Const":
            raise ModelError(self.xml_path, f"input {port} of {layer.name!r} is {source.type}, not a constant")
        return self.constant(source)

    def constant(self, layer: Layer) -> np.ndarray:
        """A Const layer's value, checked against the .bin (see the module's doc)."""
        kind = ELEMENT_TYPES.get(layer.data.get("element_type", ""))
        if kind is None:
            raise ModelError(self.xml_path, f"constant {layer.name!r}: element type "
                                            f"{layer.data.get('element_type')!r} is not one this reader knows")
        shape = _shape(self.xml_path, layer.data.get("shape", ""), layer.name)
        try:
            offset, size = int(layer.data["offset"]), int(layer.data["size"])
        except (KeyError, ValueError):
            raise ModelError(self.xml_path, f"constant {layer.name!r} lacks a numeric offset and size") from None
        itemsize = np.dtype(kind).itemsize
        if offset < 0 or size != math.prod(shape) * itemsize:
            raise ModelError(self.xml_path, f"constant {layer.name!r}: {size} bytes at {offset} do not hold "
                                            f"shape {shape} of {layer.data['element_type']}")
        if offset + size > len(self.weights):
            raise ModelError(self.xml_path, f"constant {layer.name!r} ends at byte {offset + size}, past the end "
                                            f"of the weights file ({len(self.weights)} bytes): truncated?")
        value = np.frombuffer(self.weights, dtype=kind, count=size // itemsize, offset=offset).reshape(shape)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ModelError(self.xml_path, f"constant {layer.name!r} holds NaN or infinite values")
        return value.copy()


def _shape(path: Path, text: str, name: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace(" ", "").split(",") if d)
    except ValueError:
        raise ModelError(path, f"layer {name!r} has a malformed shape {text!r}") from None
    if any(d < 0 or d > 1 << 24 for d in dims):
        raise ModelError(path, f"layer {name!r} has an impossible shape {text!r}")
    return dims


def read_ir(xml_path: Path, bin_path: Path) -> IRGraph:
    """Parse ``xml_path`` with its weights ``bin_path``; ModelError (one line) on anything wrong."""
    try:
        text = xml_path.read_bytes()
        weights = bin_path.read_bytes()
    except OSError as exc:
        raise ModelError(exc.filename or xml_path, f"cannot read ({exc.strerror})") from None
    if len(text) > MAX_XML_BYTES:
        raise ModelError(xml_path, f"{len(text)} bytes is too large for a network description")
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise ModelError(xml_path, "declares a document type or entities, which an IR never does")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ModelError(xml_path, f"not valid XML ({exc})") from None
    if root.tag != "net" or root.get("version") not in ("10", "11"):
        raise ModelError(xml_path, f"not an OpenVINO IR v10/v11 (root <{root.tag} version={root.get('version')}>)")
    graph = IRGraph(xml_path, weights)
    for node in root.iterfind("layers/layer"):
        data = node.find("data")
        port = node.find("output/port")
        dims = tuple(int(d.text or 0) for d in port.findall("dim")) if port is not None else ()
        layer = Layer(node.get("id", ""), node.get("type", ""), node.get("name", ""),
                      dict(data.attrib) if data is not None else {}, dims)
        if layer.id in graph.layers:
            raise ModelError(xml_path, f"layer id {layer.id} appears twice")
        graph.layers[layer.id] = layer
    edges: dict[str, dict[int, str]] = {}
    for edge in root.iterfind("edges/edge"):
        source, target = edge.get("from-layer", ""), edge.get("to-layer", "")
        if source not in graph.layers or target not in graph.layers:
            raise ModelError(xml_path, f"an edge joins unknown layers {source} -> {target}")
        try:
            edges.setdefault(target, {})[int(edge.get("to-port", ""))] = source
        except ValueError:
            raise ModelError(xml_path, f"an edge into layer {target} has no port number") from None
        graph.consumers.setdefault(source, []).append(target)
    for target, ports in edges.items():
        graph.inputs[target] = [ports[p] for p in sorted(ports)]
    return graph

"""Frame sinks (PNG sequence, video through PyAV) and the bounded writer thread that feeds them."""

from engine.record.sinks import FrameSink, PngSequence, RecordError, VideoFile, open_sink
from engine.record.writer import AsyncWriter

__all__ = ["AsyncWriter", "FrameSink", "PngSequence", "RecordError", "VideoFile", "open_sink"]

"""Converters from third-party checkpoint layouts to the engine's canonical tensors."""

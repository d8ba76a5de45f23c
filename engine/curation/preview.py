"""`vernissage preview`: a show's portraits as a numbered contact sheet, before a visitor sees them.

A GAN's failures are part of it, but a curator decides which faces a gallery shows: the sheet
labels each portrait with its number (as its caption counts, from 1) and its seed, and the
show's ``exclude`` (or ``exclude_file``) takes a seed out; that portrait gets a fresh face and
every other number keeps its own (engine.show.portraits). Faces are made as the show makes them:
its seed, exclusions, truncation, and the steering of its first portraits cue (as at the cue's
start; keyframed steering changes along the cue). A cue's style mixing is not applied.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from engine.render.sheet import contact_sheet
from engine.generators.base import Generator
from engine.latent import latent_from_seed
from engine.latent.steering import steer_on_shell
from engine.resources import state_beside
from engine.show.registry import parse_registry
from engine.show.schema import PortraitsCue, Show
from engine.show.timeline import Timeline
from engine.steer.vectors import steering_for

BATCH = 16
MOST = 1000  # portraits on one sheet at most


def upcoming(show: Show, dim: int) -> int:
    """The number (from 1) of the next portrait the installation will show: after the last one
    its registry records, else 1. Reads the registry; never moves or writes it."""
    path = state_beside(show.path, show.path.stem + ".registry.json")
    try:
        return parse_registry(json.loads(path.read_text(encoding="utf-8")), show.settings.seed, dim).shown + 1
    except (OSError, ValueError, TypeError, RecursionError, UnicodeDecodeError):
        return 1


def portrait_sheet(show: Show, generator: Generator, first: int, last: int, columns: int = 6,
                   tile: int = 192) -> Image.Image:
    """Portraits No. ``first`` .. ``last`` (from 1, as captions count) of ``show``, labelled."""
    if not 1 <= first <= last or last - first + 1 > MOST:
        raise ValueError(f"portraits must be FROM-TO with 1 <= FROM <= TO and at most {MOST} of them, "
                         f"got {first}-{last}")
    sequence = Timeline(show, generator.z_dim).portraits
    numbers = list(range(first, last + 1))
    seeds = [sequence.seed(n - 1) for n in numbers]
    cue = next((c for c in show.cues if isinstance(c.settings, PortraitsCue)), None)
    values = {v.axis: v.at(0.0) for v in cue.steer} if cue is not None else {}
    z_offset, w_offset = steering_for(show, generator).offsets(values) if values else (None, None)
    images = []
    for start in range(0, len(seeds), BATCH):
        z = np.stack([steer_on_shell(latent_from_seed(seed, generator.z_dim), z_offset)
                      for seed in seeds[start:start + BATCH]])
        with torch.inference_mode():
            w = generator.mapping(generator.to_tensor(z), show.settings.truncation)
            if w_offset is not None:
                w = w + torch.as_tensor(w_offset, dtype=w.dtype, device=w.device)[None]
            images.extend(generator.frames_from_w(w).cpu().numpy())
    labels = [f"No. {n:06d}\nseed {seed}" for n, seed in zip(numbers, seeds)]
    return contact_sheet(images, labels, columns, tile)

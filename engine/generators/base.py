"""The interface every generator architecture offers the engine, after the StyleGAN convention.

``mapping(z) -> w`` and ``synthesis(w) -> image`` are separate so walks can run in W space
and truncation applies in one place; ``frames`` is the fast path the player uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from engine.generators.card import MAX_RESOLUTION, ModelCard
from engine.generators.device import Placement
from engine.generators.errors import ModelError


class Generator(ABC):
    """A loaded, ready-to-run generator on one device.

    Code outside ``generators/`` asks what a model can do (``has_w_space``, ``resolutions``,
    ``has_input_transform``, ``reading_weights``), never which family it is.

    Attributes:
        card: the model card (name, architecture, licence...).
        placement: device and compute dtype.
        z_dim: latent size of z.
        w_dim: size of one W vector.
        num_ws: how many W vectors synthesis takes (1 for architectures without styles).
        resolution: output height and width in pixels.
    """

    card: ModelCard
    placement: Placement
    z_dim: int
    w_dim: int
    num_ws: int
    resolution: int
    has_w_space: bool = True  # False where W is z itself (a DCGAN): walks and directions stay in z
    resolutions: tuple[int, ...] = ()  # image exits, smallest first, where synthesis can stop early
    has_input_transform: bool = False  # synthesis(w, rotate=, translate=) turns and shifts the picture (StyleGAN3)

    def check_size(self, source: str) -> None:
        """ModelError unless the size the weights make is sane and is what the card says (call
        once ``z_dim`` and ``resolution`` are read from the weights)."""
        if self.resolution > MAX_RESOLUTION:
            raise ModelError(source, f"{self.resolution}-px images; at most {MAX_RESOLUTION}")
        if self.card.latent_dim != self.z_dim or self.card.resolution != self.resolution:
            raise ModelError(source, (
                f"weights are for latent dim {self.z_dim} at {self.resolution}px but the model "
                f"card says latent dim {self.card.latent_dim} at {self.card.resolution}px"))

    def describe(self) -> str:
        """Where and how synthesis runs, for logs and ``--stats-json``."""
        return self.placement.describe()

    def use_resolution(self, pixels: int) -> None:
        """Stop synthesis at the exit of ``pixels``; a model with one exit has only its own."""
        if pixels != self.resolution:
            raise ValueError(f"{self.card.name} makes {self.resolution}-px images only")

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        """(units, D): one row per unit that first reads the latent (W slots in ``slots``, or z
        where there is no W): what SeFa factorises."""
        raise NotImplementedError(f"no directions for {type(self).__name__} models")

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        """(B, F): the first layer's features, where W is z itself: what PCA directions regress
        back to z (GANSpace's method for models without a mapping network)."""
        raise NotImplementedError(f"no PCA directions in z for {type(self).__name__} models")

    @property
    def device(self) -> torch.device:
        return self.placement.device

    @abstractmethod
    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """(B, z_dim) -> (B, num_ws, w_dim), truncated toward the average W by ``psi``."""

    def truncated_w(self, w: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """(B, w_dim) W vectors, truncated, as (B, num_ws, w_dim); where W is z itself (a DCGAN)
        this is the mapping."""
        return self.mapping(w, truncation_psi)

    @abstractmethod
    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """(B, num_ws, w_dim) -> (B, 3, H, W) float image in the card's output range."""

    def to_tensor(self, z: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Latents (B, z_dim) or (z_dim,) as float32 on the device (the mapping runs in fp32)."""
        t = torch.as_tensor(np.asarray(z, dtype=np.float32) if isinstance(z, np.ndarray) else z)
        if t.ndim == 1:
            t = t[None]
        return t.to(self.device, torch.float32)

    @torch.inference_mode()
    def __call__(self, z: np.ndarray | torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """Float images (B, 3, H, W) for latents z, in the card's output range."""
        return self.synthesis(self.mapping(self.to_tensor(z), truncation_psi)).float()

    @torch.inference_mode()
    def frames(self, z: np.ndarray | torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """Display-ready frames (B, H, W, 3) uint8 RGB on the device: the player's fast path."""
        return self.frames_from_w(self.mapping(self.to_tensor(z), truncation_psi))

    def check(self, source: str) -> None:
        """Make one frame, so weights that do not fit together fail here, in one line, and not
        in the middle of a show (``models import`` runs this before keeping a model)."""
        try:
            frame = self.frames(np.random.default_rng(0).standard_normal((1, self.z_dim)))
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ModelError(source, f"cannot make a frame ({str(exc).splitlines()[0][:160]})") from None
        if tuple(frame.shape) != (1, self.resolution, self.resolution, 3):
            raise ModelError(source, f"makes {tuple(frame.shape)[1:]} images, not {self.resolution}px RGB")

    @torch.inference_mode()
    def frames_from_w(self, w: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        """Like :meth:`frames` for W (B, num_ws, w_dim) given directly; ``motion`` (B, 3): each
        image's rotation in degrees and translation (x, y), for models with an input transform."""
        low, high = self.card.output_range
        if motion is None:
            image = self.synthesis(w.to(self.device))  # (B, 3, H, W) in [low, high]
        elif not self.has_input_transform:
            raise ValueError(f"{self.card.name} has no input transform to rotate or translate")
        else:
            image = self.synthesis(w.to(self.device), rotate=motion[:, 0], translate=motion[:, 1:])  # type: ignore[call-arg]
        scaled = (image.float() - low) * (255.0 / (high - low))
        return scaled.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()

"""Seeds to latents and smooth paths through latent space (numpy only, pure functions of t)."""

from engine.latent.easing import EASINGS, ease
from engine.latent.paths import (
    GreatCircleLoop,
    LatentPath,
    NoiseLoop,
    SplinePath,
    Wander,
)
from engine.latent.seeds import latent_from_seed, shell_radius
from engine.latent.sphere import slerp
from engine.latent.spline import CubicSpline, SphericalSpline

__all__ = [
    "EASINGS",
    "CubicSpline",
    "GreatCircleLoop",
    "LatentPath",
    "NoiseLoop",
    "SphericalSpline",
    "SplinePath",
    "Wander",
    "ease",
    "latent_from_seed",
    "shell_radius",
    "slerp",
]

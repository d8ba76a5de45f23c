"""The reduced spectrum of images, and what training does with it.

Durall et al. (2020, "Watch your Up-Convolution") show that generators built from
up-convolutions miss the high frequencies of real images, so their output is told apart by its
spectrum, and that a loss on the spectrum fixes much of it. The *reduced* spectrum is the
azimuthal average of the power spectrum: one number per radius (frequency), from the DC term
out to the image's Nyquist ring. Here it is computed on the luminance, as log10 power, both in
numpy (reports) and in torch (the loss, differentiable).
"""

from __future__ import annotations

import numpy as np
import torch

LUMA = (0.299, 0.587, 0.114)


def _radii(size: int) -> np.ndarray:
    y, x = np.indices((size, size)) - size // 2
    return np.minimum(np.hypot(x, y).round().astype(int), size // 2)


def reduced_spectra(images: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 or float in [-1, 1] -> (N, S // 2 + 1) log10 power by radius."""
    x = images.astype(np.float64)
    if images.dtype == np.uint8:
        x = x / 127.5 - 1.0
    luma = x @ np.array(LUMA)
    power = np.abs(np.fft.fftshift(np.fft.fft2(luma), axes=(1, 2))) ** 2
    radii = _radii(luma.shape[1]).ravel()
    counts = np.bincount(radii)
    sums = np.stack([np.bincount(radii, weights=p.ravel()) for p in power])
    return np.log10(sums / counts + 1e-12)


def reduced_spectra_torch(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) in [-1, 1] -> (B, S // 2 + 1) reduced spectra, differentiable, each scaled
    to [0, 1] by its own range (what the spectral loss compares: shape, not brightness)."""
    luma = torch.einsum("bchw,c->bhw", images.float(), images.new_tensor(LUMA).float())
    power = torch.fft.fftshift(torch.fft.fft2(luma), dim=(-2, -1)).abs().square()
    size = luma.shape[-1]
    radii = torch.as_tensor(_radii(size).ravel(), device=images.device)
    counts = torch.bincount(radii).float()
    sums = torch.zeros(luma.shape[0], int(counts.numel()), device=images.device).index_add_(
        1, radii, power.flatten(1))
    spectra = torch.log10(sums / counts + 1e-8)
    low, high = spectra.min(dim=1, keepdim=True).values, spectra.max(dim=1, keepdim=True).values
    return (spectra - low) / (high - low + 1e-8)


def spectral_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of each fake image's scaled reduced spectrum against the real
    batch's mean one (Durall et al.'s spectral regularisation); gradients reach the generator."""
    target = reduced_spectra_torch(real).mean(dim=0, keepdim=True).detach().clamp(0.0, 1.0)
    spectra = reduced_spectra_torch(fake).clamp(1e-6, 1.0 - 1e-6)
    return torch.nn.functional.binary_cross_entropy(spectra, target.expand_as(spectra))


def spectral_distance(fake: np.ndarray, real: np.ndarray) -> float:
    """Mean absolute difference of the mean log10 reduced spectra, over the upper half of the
    radii (where up-convolutions fail): 0 for the same spectrum; one number for a card."""
    a, b = reduced_spectra(fake).mean(axis=0), reduced_spectra(real).mean(axis=0)
    upper = slice(len(a) // 2, None)
    return float(np.abs(a[upper] - b[upper]).mean())


def frechet_distance(fake: np.ndarray, real: np.ndarray, thumb: int = 8) -> float:
    """Fréchet distance between the Gaussians of ``thumb`` x ``thumb`` colour thumbnails of two
    image sets: a sample-quality number that needs no downloaded network (lower is closer)."""
    a, b = _thumbnails(fake, thumb), _thumbnails(real, thumb)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = _covariance(a), _covariance(b)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)  # sqrt(cov_a) cov_b sqrt(cov_a) is symmetric PSD
    trace_root = float(np.sqrt(np.clip(middle, 0, None)).sum())
    return max(0.0, float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root))


def _covariance(x: np.ndarray) -> np.ndarray:
    """The sample covariance; one sample has none (np.cov's NaN failed a one-image folder)."""
    return np.cov(x, rowvar=False) if len(x) > 1 else np.zeros((x.shape[1], x.shape[1]))


def _thumbnails(images: np.ndarray, thumb: int) -> np.ndarray:
    n, s = images.shape[:2]
    x = images.astype(np.float64) / 255.0 if images.dtype == np.uint8 else (images.astype(np.float64) + 1) / 2
    k = s // thumb
    return x[:, :k * thumb, :k * thumb].reshape(n, thumb, k, thumb, k, 3).mean(axis=(2, 4)).reshape(n, -1)

"""Image exits for MobileStyleGAN's lower blocks, fitted to the network's own full-size output.

The distilled network was trained with an image output on every block (each against the teacher's
downscaled picture), but the released IR kept only the last one: the exporter pruned what the
final image does not need. A lower exit is a 1x1 convolution from a block's activations to the
12 wavelet channels of its picture, so it can be fitted in closed form: over seeded faces, least
squares from the block's activations to the wavelet transform of the full picture box-filtered
down to the exit's size (box filtering is exactly the Haar transform's low band, the space the
network's pictures live in). The fit is a pure function of the weights and the seed, so every
install gets the same exits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.generators.mobilestylegan import MobileStyleGANNetwork, forward_haar

FIT_SAMPLES = 24
RIDGE = 1e-3
SMALLEST_EXIT = 64  # 16 and 32 px are too small to be worth showing


def fitting_latents(z_dim: int, count: int, seed: int) -> torch.Tensor:
    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def fit_exits(net: MobileStyleGANNetwork, w_avg: torch.Tensor, samples: int = FIT_SAMPLES,
              seed: int = 1) -> dict[str, torch.Tensor]:
    """``block.{i}.exit.weight/bias`` for every block below the last whose picture is at least
    :data:`SMALLEST_EXIT` px, fitted on faces half of them truncated toward ``w_avg``."""
    config = net.config
    blocks = [i for i in range(config.blocks - 1) if config.exit_resolution(i) >= SMALLEST_EXIT]
    last = config.blocks - 1
    gram = {i: torch.zeros(config.channels[i + 1] + 1, config.channels[i + 1] + 1, dtype=torch.float64) for i in blocks}
    cross = {i: torch.zeros(config.channels[i + 1] + 1, 12, dtype=torch.float64) for i in blocks}
    z = fitting_latents(config.z_dim, samples, seed)
    for n in range(samples):
        w = net.mapping(z[n:n + 1])
        if n % 2:  # half the faces truncated, as shows usually play them
            w = w_avg + 0.7 * (w - w_avg)
        ws = w[:, None].repeat(1, config.num_ws, 1)
        hidden = {}
        x = None
        for i in range(last + 1):
            x = net.features(ws, i) if x is None else net.block(x, ws, i)
            if i in blocks:
                hidden[i] = x
        image = net.synthesis(ws)  # (1, 3, R, R)
        for i in blocks:
            size = config.exit_resolution(i)
            target = forward_haar(F.avg_pool2d(image, image.shape[-1] // size), net.p("idwt"))  # (1, 12, h, h)
            features = hidden[i][0].flatten(1).double()  # (C, h*h)
            design = torch.cat([features, torch.ones(1, features.shape[1], dtype=torch.float64)])  # (C+1, h*h)
            gram[i] += design @ design.T
            cross[i] += design @ target[0].flatten(1).double().T
    out: dict[str, torch.Tensor] = {}
    for i in blocks:
        regularised = gram[i] + RIDGE * torch.eye(gram[i].shape[0], dtype=torch.float64) * gram[i].diagonal().mean()
        solution = torch.linalg.solve(regularised, cross[i])  # (C+1, 12)
        out[f"block.{i}.exit.weight"] = solution[:-1].T.float()[:, :, None, None].contiguous()  # (12, C, 1, 1)
        out[f"block.{i}.exit.bias"] = solution[-1].float().contiguous()  # (12,)
    return out


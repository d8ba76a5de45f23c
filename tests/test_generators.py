"""The bundled generator on real weights, and clear one-line errors for bad model files."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.catalog import available_models
from engine.generators.errors import ModelError
from engine.generators.loading import load_generator
from engine.latent import latent_from_seed

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "digiface-dcgan64"


def test_bundled_model_loads_by_name_with_its_card(generator):
    assert generator.card.name == "digiface-dcgan64"
    assert (generator.z_dim, generator.resolution, generator.num_ws) == (100, 64, 1)
    assert generator.device.type in ("cpu", "cuda")
    assert "digiface-dcgan64" in [c.name for c in available_models()]
    assert "MIT" in generator.card.extra["licence"]["spdx"]
    assert "non-commercial" in generator.card.extra["training_data"]["note"]


def test_frames_are_faces_not_noise(generator):
    frames = generator.frames(np.stack([latent_from_seed(s, 100) for s in range(8)])).numpy()
    assert frames.shape == (8, 64, 64, 3) and frames.dtype == np.uint8
    # A trained generator makes smooth images: neighbouring pixels are strongly correlated.
    f = frames.astype(np.float64)
    horizontal = np.abs(np.diff(f, axis=2)).mean()
    assert horizontal < 0.25 * f.std()
    # Different seeds give different faces.
    assert np.abs(f[0] - f[1]).mean() > 10


def test_same_seed_same_pixels_and_batching_does_not_matter(generator):
    z = np.stack([latent_from_seed(s, 100) for s in range(5)])
    batch = generator.frames(z)
    again = generator.frames(z)
    single = generator.frames(z[2])
    assert torch.equal(batch, again)
    assert torch.equal(batch[2], single[0])


def test_float_output_in_model_range_and_truncation_toward_mean(generator):
    z = latent_from_seed(1, 100)
    image = generator(z)
    assert image.shape == (1, 3, 64, 64)
    assert image.min() >= -1.0 and image.max() <= 1.0
    w = generator.mapping(generator.to_tensor(z), truncation_psi=0.5)
    assert torch.allclose(w[0, 0], 0.5 * torch.as_tensor(z, dtype=torch.float32))


def _copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "face"
    shutil.copytree(MODEL_DIR, target)
    return target


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_unknown_name_lists_available(tmp_path):
    with pytest.raises(ModelError) as exc:
        load_generator("no-such-model")
    assert "no-such-model: no such model" in _one_line(exc)
    assert "digiface-dcgan64" in str(exc.value)


def test_missing_weights_file(tmp_path):
    model = _copy_model(tmp_path)
    (model / "generator.safetensors").unlink()
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    assert _one_line(exc) == f"{model / 'generator.safetensors'}: weights file not found"


def test_truncated_weights_file(tmp_path):
    model = _copy_model(tmp_path)
    weights = model / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[: 1_000_000])
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    message = _one_line(exc)
    assert message.startswith(str(weights)) and "truncated" in message


def test_truncated_header(tmp_path):
    model = _copy_model(tmp_path)
    weights = model / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    assert "truncated" in _one_line(exc)


def test_garbage_weights_file(tmp_path):
    model = _copy_model(tmp_path)
    (model / "generator.safetensors").write_bytes(b"this is not a model at all")
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    assert "not a safetensors file" in _one_line(exc)


def test_card_that_disagrees_with_weights(tmp_path):
    model = _copy_model(tmp_path)
    card = model / "model.toml"
    card.write_text(card.read_text().replace("latent_dim = 100", "latent_dim = 128"))
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    assert "latent dim 100 at 64px but the model card says latent dim 128" in _one_line(exc)


def test_card_with_bad_toml_names_the_line(tmp_path):
    model = _copy_model(tmp_path)
    (model / "model.toml").write_text('name = "x"\narchitecture = dcgan\n')
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    message = _one_line(exc)
    assert message.startswith(str(model / "model.toml")) and "line 2" in message


def test_missing_tensor(tmp_path):
    from safetensors.torch import load_file, save_file

    model = _copy_model(tmp_path)
    weights = model / "generator.safetensors"
    tensors = load_file(str(weights))
    del tensors["main.4.running_var"]
    save_file(tensors, str(weights))
    with pytest.raises(ModelError) as exc:
        load_generator(model)
    assert "missing tensor main.4.running_var" in _one_line(exc)


class _Exploit:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/vernissage-pwned"),))


def test_a_checkpoint_that_runs_code_is_refused(tmp_path):
    marker = Path("/tmp/vernissage-pwned")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pt"
    torch.save({"netG_state_dict": _Exploit()}, evil)
    with pytest.raises(ModelError) as exc:
        load_generator(evil)
    assert "cannot load PyTorch checkpoint" in _one_line(exc)
    assert not marker.exists()


def test_a_raw_pickle_is_not_unpickled(tmp_path):
    marker = Path("/tmp/vernissage-pwned")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.bin"
    evil.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(ModelError):
        load_generator(evil)
    assert not marker.exists()


def test_a_plain_tutorial_checkpoint_loads_by_content(tmp_path):
    from safetensors.torch import load_file

    state = load_file(str(MODEL_DIR / "generator.safetensors"))
    checkpoint = tmp_path / "weights.bin"  # extension says nothing; the content decides
    torch.save({"netG_state_dict": state}, checkpoint)
    loaded = load_generator(checkpoint, device="cpu")
    reference = load_generator("digiface-dcgan64", device="cpu")
    z = latent_from_seed(4, 100)
    assert torch.equal(loaded.frames(z), reference.frames(z))


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_imported_weights_are_as_readable_as_the_umask_says(tmp_path, mask):
    """safetensors writes 0600 whatever the umask: a model imported with sudo was unreadable to
    the gallery's account. The weights get the umask's mode, as any file the user makes."""
    from engine.generators.importer import import_model
    from engine.resources import bundled

    previous = os.umask(mask)
    try:
        folder = import_model(bundled("models") / "digiface-dcgan64" / "generator.safetensors", "copy", tmp_path)
    finally:
        os.umask(previous)
    for path in (folder / "generator.safetensors", folder / "model.toml"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_every_family_row_names_its_class_and_says_what_the_class_says():
    """check answers from the row (no torch); the loaded model answers from its class: the same."""
    from engine.generators.base import Generator
    from engine.generators.families import FAMILIES

    for name, family in FAMILIES.items():
        cls = family.generator_class()
        assert issubclass(cls, Generator), name
        assert (cls.has_w_space, cls.has_input_transform) == (family.has_w_space, family.has_input_transform), name

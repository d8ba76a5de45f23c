"""Convert the DCGAN generator shipped in the ``gan-face-generate==1.1.1`` wheel to safetensors.

Provenance script for ``models/digiface-dcgan64``; run once by a maintainer, not at install:

    pip download --no-deps gan-face-generate==1.1.1 -d /tmp/gfg
    python models/convert_gan_face_generate.py /tmp/gfg/gan_face_generate-1.1.1-py3-none-any.whl

Reads ``gan_face_generate/weights.tar`` with ``torch.load(weights_only=True)`` (no code runs),
keeps ``netG_state_dict`` float32 tensors bit for bit (drops the integer batch counters, which
inference never reads) and verifies the round trip.
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

OUT = Path(__file__).resolve().parent / "digiface-dcgan64" / "generator.safetensors"


def main(wheel: str) -> None:
    raw = zipfile.ZipFile(wheel).read("gan_face_generate/weights.tar")
    print(f"weights.tar sha256 {hashlib.sha256(raw).hexdigest()}")
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)["netG_state_dict"]
    tensors = {k: v.contiguous() for k, v in state.items() if v.dtype == torch.float32}
    save_file(tensors, str(OUT), metadata={"source": "gan-face-generate==1.1.1 weights.tar"})
    back = load_file(str(OUT))
    assert all(torch.equal(back[k], tensors[k]) for k in tensors), "round trip changed a tensor"
    print(f"wrote {OUT} ({len(tensors)} tensors), sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1])

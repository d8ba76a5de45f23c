"""The render farm: chunks equal the frames of a whole render, a local Dask cluster's render
equals a local render (bit for bit for FFV1 and PNG), a killed worker is survived, and each bad
input is one line."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from audio_tracks import kicks, noise, write_track
from engine.cli import main
from engine.farm.chunks import Chunk, chunk_frames, split
from engine.farm.errors import FarmError
from engine.farm.job import job_for
from engine.farm.worker import render_chunk
from engine.inputs.audio import hear_track
from engine.loop import run
from engine.loop.program import ProgramSpec, resolve
from engine.record.codecs import Delivery
from helpers import decode

distributed = pytest.importorskip("distributed")

WALK = ["--walk", "wander", "--model", "digiface-dcgan64", "--size", "64x48", "--fps", "30", "--no-progress"]


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Path:
    """Loud kicks over noise: the show's pace moves with them, so a chunk must know what came before."""
    folder = tmp_path_factory.mktemp("music")
    return write_track(folder / "kicks.wav", 0.9 * kicks(np.arange(0.1, 2.0, 0.3), 2.0) + noise(2.0, 0.05))


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two worker processes on this machine, one thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local


def _pngs(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(path)) for path in sorted(folder.glob("*.png"))]


def _samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] for f in container.decode(audio=0)])


def test_chunks_cover_the_render_and_stay_small_for_large_frames():
    assert split(45, 10) == [Chunk(0, 0, 10), Chunk(1, 10, 20), Chunk(2, 20, 30), Chunk(3, 30, 40), Chunk(4, 40, 45)]
    assert sum(c.frames for c in split(7, 3)) == 7 and split(7, 100) == [Chunk(0, 0, 7)]
    assert chunk_frames(Fraction(30), (1920, 1080)) == 60  # two seconds
    assert chunk_frames(Fraction(30), (7680, 4320)) == 5  # 8K: 512 MB of raw frames at most
    assert chunk_frames(Fraction(30), (64, 64), asked=0) == 1


def test_a_chunk_equals_those_frames_of_the_whole_render_when_the_music_moves_the_show(tmp_path, track):
    program = resolve(ProgramSpec(walk="wander", model="digiface-dcgan64", size=(64, 48), fps="30"))
    run.render(program, tmp_path / "whole", 40, progress=False, audio=track)
    heard = hear_track(track, program.fps, 1.0, [], 40)
    run.render(program, tmp_path / "chunk", 40, progress=False, first=25, heard_audio=heard)
    run.render(program, tmp_path / "deaf", 40, progress=False, first=25)
    whole, chunk, deaf = _pngs(tmp_path / "whole"), _pngs(tmp_path / "chunk"), _pngs(tmp_path / "deaf")
    assert len(chunk) == 15
    assert all(np.array_equal(a, b) for a, b in zip(whole[25:], chunk))
    assert sum(not np.array_equal(a, b) for a, b in zip(whole[25:], deaf)) >= 10  # the music did move the show


def test_a_farm_render_equals_a_local_one_bit_for_bit(tmp_path, cluster, track):
    address = cluster.scheduler_address
    assert main(["render", *WALK, "--audio", str(track), "-o", str(tmp_path / "local.mkv")]) == 0
    assert main(["render", *WALK, "--audio", str(track), "-o", str(tmp_path / "farm.mkv"),
                 "--cluster", address, "--chunk", "7"]) == 0
    local, info = decode(tmp_path / "local.mkv")
    farm, farm_info = decode(tmp_path / "farm.mkv")
    assert len(farm) == len(local) == 60 and farm_info == info
    assert all(np.array_equal(a, b) for a, b in zip(local, farm))
    local_track, farm_track = _samples(tmp_path / "local.mkv"), _samples(tmp_path / "farm.mkv")
    assert len(local_track) == 2 * 48000 and np.array_equal(local_track, farm_track)  # the same soundtrack, as long
    assert main(["render", *WALK, "--frames", "20", "-o", str(tmp_path / "local")]) == 0
    assert main(["render", *WALK, "--frames", "20", "-o", str(tmp_path / "farm"), "--cluster", address,
                 "--chunk", "6"]) == 0
    names = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "farm").iterdir()) and len(names) == 20
    assert all((tmp_path / "local" / n).read_bytes() == (tmp_path / "farm" / n).read_bytes() for n in names)
    assert main(["render", *WALK, "--frames", "30", "-o", str(tmp_path / "farm.mp4"), "--cluster", address,
                 "--chunk", "10"]) == 0
    frames, info = decode(tmp_path / "farm.mp4")
    assert len(frames) == 30 and info["fps"] == 30 and info["codec"] == "h264"
    with av.open(str(tmp_path / "farm.mp4")) as container:
        assert abs(float(container.duration) / 1e6 - 1.0) < 0.05
        assert [f.pts for f in container.decode(video=0) if f.key_frame] == [0, 5120, 10240]  # one IDR a chunk


def test_a_live_performance_replays_on_the_farm_as_on_one_machine(tmp_path, cluster, track):
    """The VJ's set, rendered again on the farm: its music is in the log, so each chunk catches
    up through the logged pushes and lands on the same frames as a local replay."""
    log = tmp_path / "set.jsonl"
    assert main(["play", "--headless", "--walk", "wander", "--model", "digiface-dcgan64", "--size", "64x48",
                 "--fps", "20", "--duration", "3", "--audio", str(track), "--performance-log", str(log)]) == 0
    assert main(["render", "--replay", str(log), "-o", str(tmp_path / "local.mkv"), "--no-progress"]) == 0
    assert main(["render", "--replay", str(log), "-o", str(tmp_path / "farm.mkv"), "--no-progress",
                 "--cluster", cluster.scheduler_address, "--chunk", "13"]) == 0
    local, _ = decode(tmp_path / "local.mkv")
    farm, _ = decode(tmp_path / "farm.mkv")
    assert len(local) >= 40 and len(farm) == len(local)
    assert all(np.array_equal(a, b) for a, b in zip(local, farm))
    assert sum(not np.array_equal(a, b) for a, b in zip(local, local[1:])) > 20  # it moved


def test_a_worker_killed_mid_chunk_has_its_chunk_rendered_elsewhere(tmp_path, cluster):
    program = resolve(ProgramSpec(walk="wander", model="digiface-dcgan64", size=(320, 240), fps="30"))
    run.render(program, tmp_path / "local.mkv", 48, progress=False)
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    pids = client.run(os.getpid)
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = [worker for worker, tasks in client.processing().items()
                    if any(str(t).startswith("vernissage-") for t in tasks)]
            if busy:
                killed.append(busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        from engine.farm.client import render_on_cluster

        report = render_on_cluster(program, tmp_path / "farm.mkv", 48, cluster.scheduler_address, chunk=8,
                                   progress=False)
    finally:
        killer.join()
        client.close()
    assert killed and report.frames == 48
    local, _ = decode(tmp_path / "local.mkv")
    farm, _ = decode(tmp_path / "farm.mkv")
    assert len(farm) == 48 and all(np.array_equal(a, b) for a, b in zip(local, farm))


def test_a_worker_without_the_same_model_is_refused_in_one_line(tmp_path, monkeypatch):
    program = resolve(ProgramSpec(walk="wander", model="digiface-dcgan64", size=(64, 48), fps="30"))
    job = job_for(program, 0.0, 10, tmp_path / "out.mkv", Delivery())
    with pytest.raises(FarmError, match=r"^worker .+: its model digiface-dcgan64 has weights sha256 [0-9a-f]{12}\.\.\.,"):
        render_chunk(replace(job, model_sha256="0" * 64), Chunk(0, 0, 5), None)
    with pytest.raises(FarmError, match=r"^worker .+: no model elsewhere-model \(sha256 "):
        render_chunk(replace(job, model="elsewhere-model", model_path="/nowhere/elsewhere-model"), Chunk(0, 0, 5), None)
    default = job_for(resolve(ProgramSpec(walk="wander", size=(64, 48))), 0.0, 10, tmp_path / "out.mkv", Delivery())
    assert Path(default.model_path).is_absolute() and default.model == "digiface-dcgan64"  # never "default": a
    # worker without the named model once loaded its own default under that word and was refused for its sha
    escaping = replace(job, show_files=(("../../escape.toml", b""),))
    with pytest.raises(FarmError, match="leads out of its folder"):
        render_chunk(escaping, Chunk(0, 0, 5), None)


def test_bad_farm_input_is_one_line(tmp_path, cluster, monkeypatch, caplog):
    import engine.farm.client as farm_client

    monkeypatch.setattr(farm_client, "CONNECT_TIMEOUT", 1.0)
    began = time.monotonic()
    assert main(["render", *WALK, "--frames", "5", "-o", str(tmp_path / "x.mkv"), "--cluster", "tcp://127.0.0.1:9"]) == 1
    assert time.monotonic() - began < 30
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in caplog.text
    for address in ("", "tcp://", "http://host:1", "host"):  # an empty one would start a cluster here instead
        with pytest.raises(SystemExit) as refused:
            main(["render", *WALK, "--frames", "5", "-o", str(tmp_path / "x.mkv"), "--cluster", address])
        assert refused.value.code == 2
    assert main(["render", *WALK, "--frames", "5", "-o", str(tmp_path / "y.mkv"), "--chunk", "3"]) == 2
    assert "--chunk is for a farm render" in caplog.text
    # a model that differs on the workers: the client's copy has other weights under the same name
    model = tmp_path / "digiface-dcgan64"
    from engine.generators.catalog import resolve_model

    bundled = resolve_model("digiface-dcgan64")
    model.mkdir()
    for path in bundled.iterdir():
        data = path.read_bytes()
        (model / path.name).write_bytes(data)
    weights = next(model.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    weights.write_bytes(bytes(data))
    caplog.clear()
    assert main(["render", "--walk", "wander", "--model", str(model), "--size", "64x48", "--frames", "5",
                 "--no-progress", "-o", str(tmp_path / "z.mkv"), "--cluster", cluster.scheduler_address]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "its model digiface-dcgan64 has weights sha256" in errors[0]
    assert not (tmp_path / "z.mkv").exists() and not list(tmp_path.glob(".z.mkv.chunks"))

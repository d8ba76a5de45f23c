"""A render on a local Dask cluster against the same render on one process: identity, overhead, a killed worker.

    python benchmarks/farm.py [--show shows/never_existed.toml | --walk wander] [--model NAME]
                              [--size 640x360] [--frames 120] [--chunk 20] [--audio TRACK] [--json PATH]

Three renders of the same frames to FFV1: local (``vernissage render``'s own path), then on a
``LocalCluster`` of two worker processes with one thread each, then on that cluster again with one
worker killed (SIGKILL) while it renders a chunk. Each farm render is decoded and compared frame
by frame with the local one. Reported: seconds and frames a second of each, the farm's time as a
ratio of the local one, and what the killed run cost over the clean one. On one machine the
workers share its cores, so the ratio measures the farm's overhead (start-up, the catch-up to
each chunk, shipping and joining), not its speed-up; the README works out how it scales.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distributed import Client, LocalCluster  # noqa: E402

from engine.farm.client import render_on_cluster  # noqa: E402
from engine.loop import run  # noqa: E402
from engine.loop.program import ProgramSpec, resolve  # noqa: E402
from engine.outputs.display import HeadlessDisplay  # noqa: E402


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _killer(address: str, killed: list[str]) -> threading.Thread:
    """Kills the first worker seen rendering a chunk (SIGKILL, as a crash or an OOM kill would)."""
    client = Client(address, set_as_default=False)
    pids = client.run(os.getpid)

    def kill() -> None:
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if any(str(t).startswith("vernissage-")
                                                                                for t in tasks)]
                if busy:
                    time.sleep(0.5)  # well into its chunk
                    killed.append(busy[0])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                time.sleep(0.05)
        finally:
            client.close()

    return threading.Thread(target=kill)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", default="shows/never_existed.toml")
    parser.add_argument("--walk", default=None, help="a walk instead of the show (every frame a new face)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--chunk", type=int, default=20)
    parser.add_argument("--audio", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    width, height = (int(v) for v in args.size.split("x"))
    spec = ProgramSpec(show=None if args.walk else args.show, walk=args.walk, model=args.model, size=(width, height))
    display = HeadlessDisplay((64, 64))
    renderer = display.ctx.info["GL_RENDERER"]
    display.close()
    results: dict = {"renderer": renderer, "what": args.walk or args.show, "frames": args.frames, "size": args.size,
                     "chunk": args.chunk,
                     "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        program = resolve(spec)
        results["model"] = program.generator.card.name
        began = time.perf_counter()
        run.render(program, folder / "local.mkv", args.frames, progress=False, audio=args.audio)
        results["local_s"] = time.perf_counter() - began
        local = _frames(folder / "local.mkv")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster:
            for name in ("farm", "killed"):
                killed: list[str] = []
                killer = _killer(cluster.scheduler_address, killed) if name == "killed" else None
                if killer is not None:
                    killer.start()
                began = time.perf_counter()
                render_on_cluster(resolve(spec), folder / f"{name}.mkv", args.frames, cluster.scheduler_address,
                                  progress=False, audio=args.audio, chunk=args.chunk)
                results[f"{name}_s"] = time.perf_counter() - began
                if killer is not None:
                    killer.join()
                    results["killed_worker"] = bool(killed)
                made = _frames(folder / f"{name}.mkv")
                results[f"{name}_identical"] = len(made) == len(local) and all(
                    np.array_equal(a, b) for a, b in zip(local, made))
                cluster.wait_for_workers(2, timeout=120)  # the nanny has restarted the killed one
    results["farm_over_local"] = results["farm_s"] / results["local_s"]
    results["killed_over_farm"] = results["killed_s"] / results["farm_s"]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

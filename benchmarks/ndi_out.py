"""NDI out under load: live 720p60 without and with --ndi (a receiver on this machine pulling).

    python benchmarks/ndi_out.py [--seconds 30] [--size 1280x720]

Runs ``vernissage play --headless`` twice in its own process, the first run the baseline, the
second publishing NDI while a cyndilib receiver in this process takes every frame it can; prints
achieved fps, frame-time p99 and missed frames for both, and for NDI the frames sent per frame
shown, the frames dropped and the frames the receiver got. On a machine without multicast the
runtime is pointed at the loopback address (NDI_CONFIG_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def play(size: str, seconds: float, scratch: Path, ndi: str | None, env: dict[str, str]) -> tuple[dict, str]:
    stats = scratch / "stats.json"
    command = [sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander", "--size", size,
               "--fps", "60", "--duration", str(seconds), "--stats-json", str(stats)] + (["--ndi", ndi] if ndi else [])
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(stats.read_text()), result.stderr


def receive(name: str, stop: threading.Event, counts: dict[str, int]) -> None:
    from cyndilib.finder import Finder
    from cyndilib.receiver import Receiver, ReceiveFrameType
    from cyndilib.video_frame import VideoRecvFrame
    from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

    finder = Finder()
    finder.open()
    source = None
    while source is None and not stop.is_set():
        finder.wait_for_sources(0.5)
        finder.update_sources()
        source = next((n for n in finder.get_source_names() if name in n), None)
    if source is None:
        finder.close()
        return
    receiver = Receiver(color_format=RecvColorFormat.RGBX_RGBA, bandwidth=RecvBandwidth.highest)
    video = VideoRecvFrame()
    receiver.set_video_frame(video)
    receiver.connect_to(finder.get_source(source))
    while not stop.is_set():
        if receiver.receive(ReceiveFrameType.recv_video, 100) & ReceiveFrameType.recv_video:
            counts["received"] += 1
            video.skip_frames(True)
    receiver.disconnect()
    finder.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        (scratch / "ndi-config.v1.json").write_text(json.dumps({"ndi": {"networks": {"ips": "127.0.0.1"}}}))
        env = {**os.environ, "NDI_CONFIG_DIR": str(scratch)}
        os.environ["NDI_CONFIG_DIR"] = str(scratch)
        baseline, _ = play(args.size, args.seconds, scratch, None, env)
        counts = {"received": 0}
        stop = threading.Event()
        receiver = threading.Thread(target=receive, args=("vernissage-bench", stop, counts), daemon=True)
        receiver.start()
        with_ndi, log = play(args.size, args.seconds, scratch, "vernissage-bench", env)
        stop.set()
        receiver.join(10)
    sent = re.search(r"closed: (\d+) frames sent, (\d+) dropped", log)
    frames_sent, dropped = (int(sent.group(1)), int(sent.group(2))) if sent else (0, 0)
    for label, stats in (("without NDI", baseline), ("with NDI", with_ndi)):
        print(f"{args.size}@60 {label:12s} {stats['fps']:6.2f} fps ({stats['fps'] / 60:.3f}x the target)  "
              f"p99 {stats['p99_ms']:5.1f} ms  missed {stats['missed']} of {stats['frames']}")
    print(f"NDI: {frames_sent} frames sent for {with_ndi['frames']} shown ({frames_sent / max(1, with_ndi['frames']):.3f} "
          f"a frame), {dropped} dropped, {counts['received']} received by the receiver here")


if __name__ == "__main__":
    main()

"""Audio-reactive: one causal analysis of real samples, live and offline, and what it does to the show."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from audio_tracks import RATE, clicks, kicks, noise, sweep, write_track
from engine.audio.analysis import Analyzer, AudioFeatures
from engine.audio.reactivity import Reactivity
from engine.audio.sources import AudioError, FileAudio, track_seconds
from engine.cli import main
from engine.commands import AudioFrame
from engine.inputs.audio import AudioInput
from engine.inputs.bindings import BindingError, load_bindings
from engine.inputs.performance_log import PerformanceLogError, read_performance
from helpers import assert_replay_matches, cli_in_process, decode

ROOT = Path(__file__).resolve().parents[1]
FPS = 30


def vernissage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def heard(path: Path, fps: int = FPS, reactivity: float = 1.0) -> tuple[list[AudioFeatures], list[float]]:
    """Frame by frame, what ``path`` sounds like to the show, and the pace it sets."""
    audio = AudioInput(FileAudio(path), Fraction(fps), reactivity)
    frames = round(track_seconds(path) * fps)
    features, drives = [], []
    for tick in range(frames):
        frame = audio.commands(tick)[0]
        assert isinstance(frame, AudioFrame)
        features.append(audio.heard)
        drives.append(frame.drive)
    audio.close()
    return features, drives


def frame_changes(path: Path) -> np.ndarray:
    """Mean absolute change from each decoded frame to the next (0..255)."""
    frames, _ = decode(path)
    return np.array([np.abs(b.astype(np.float32) - a.astype(np.float32)).mean() for a, b in zip(frames, frames[1:])])


# --- the analysis ------------------------------------------------------------------------------------

def test_clicks_are_heard_within_one_frame(tmp_path):
    times = [0.5 + 0.37 * k for k in range(12)]  # off the frame grid, at no steady tempo
    features, _ = heard(write_track(tmp_path / "clicks.wav", clicks(times, 5.5)))
    hits = [i for i, f in enumerate(features) if f.hit]
    assert len(hits) == len(times)
    for t, frame in zip(times, hits):  # frame i hears the samples before i / fps: the first that can
        assert 0 <= frame - t * FPS <= 1.0 + 1e-9, (t, frame)


def test_silence_is_zero_and_levels_read_against_the_tracks_own_loudness(tmp_path):
    """Silence is 0; the track's first sound sets its loudness, which reads TYPICAL_LEVEL and
    keeps the show's own pace; 30 dB under it reads quiet. Steady noise: no onsets, no jitter."""
    from engine.audio.analysis import TYPICAL_LEVEL

    track = np.concatenate((np.zeros(2 * RATE), noise(3.0, 0.1), np.zeros(2 * RATE), noise(3.0, 0.003, seed=1)))
    features, drives = heard(write_track(tmp_path / "levels.wav", track))
    silent, loud, quiet = features[30:60], features[75:150], features[225:300]
    assert max(f.level for f in silent) == 0.0 and max(f.onset for f in silent) == 0.0
    assert all(abs(f.level - TYPICAL_LEVEL) < 0.1 for f in loud) and max(f.level for f in quiet) < 0.15
    assert sum(f.hit for f in features[62:150]) == 0  # steady noise: a steady flux, no onsets after its start
    steady = drives[90:150]  # after the push of its start has decayed
    assert max(steady) - min(steady) < 0.05 * np.mean(steady)  # a steady pace, not jitter
    assert max(drives[30:60]) < 0.2 < 0.6 < min(steady) <= max(steady) < 1.2  # silence almost still; the pace its own


def test_a_sweep_moves_through_the_bands(tmp_path):
    features, _ = heard(write_track(tmp_path / "sweep.wav", sweep(6.0, 40.0, 12000.0)))
    loudest = [int(np.argmax([f.low, f.mid, f.high])) for f in features[5:-5]]
    low_to_high = [band for i, band in enumerate(loudest) if i == 0 or band != loudest[i - 1]]
    assert low_to_high == [0, 1, 2]  # low, then mid, then high: once each, in order
    assert loudest.count(0) > 20 and loudest.count(1) > 20 and loudest.count(2) > 20


def test_a_click_track_at_120_bpm_gives_its_tempo_and_beats(tmp_path):
    times = [0.25 + 0.5 * k for k in range(24)]
    features, _ = heard(write_track(tmp_path / "beat.wav", clicks(times, 12.0)))
    assert all(abs(f.bpm - 120.0) < 1.0 for f in features[6 * FPS:])
    beats = [i for i, f in enumerate(features) if f.beat]
    late = [t for t in times if t > 6.0]
    assert len([b for b in beats if b > 6 * FPS]) == len(late)
    for t, frame in zip(late, [b for b in beats if b > 6 * FPS]):
        assert abs(frame - t * FPS) <= 1.0, (t, frame)


def test_a_file_and_a_stream_of_the_same_samples_give_the_same_features(tmp_path):
    """Live (blocks as a sound card delivers them) and offline (up to each frame's time) agree."""
    samples = (kicks(np.arange(0.2, 4.0, 0.45), 4.0) + noise(4.0, 0.01)).astype(np.float32)
    offline = Analyzer()
    offline.feed(samples)
    live = Analyzer()
    for start in range(0, len(samples), 256):  # PortAudio's blocks: 256 samples, unrelated to hops or frames
        live.feed(samples[start:start + 256])
    assert live.hops == offline.hops and live.take() == offline.take()
    assert list(live._flux) == list(offline._flux)


def test_quiet_and_loud_masters_of_the_same_music_pulse_alike_and_keep_the_shows_timing(tmp_path):
    """A full mix (kick, snare, hats, bass, chords) at -30, -14 and -6 dBFS RMS: read absolutely,
    a normally loud track drove the show at several times its speed and barely lurched on the
    kick. Now every master keeps the show near its own pace and lurches on each kick."""
    from engine.bench.music import MASTERS, master, mix

    samples, kick_times = mix(16.0)
    result = {}
    for name, loudness in MASTERS.items():
        _, drives = heard(write_track(tmp_path / f"{name}.wav", master(samples, loudness)))
        drives = np.array(drives[4 * FPS:])  # after the loudness reference has settled
        frames = [math.floor(t * FPS) + 1 - 4 * FPS for t in kick_times if 4.2 <= t <= 15.5]
        on = np.mean([drives[k:k + 3].mean() for k in frames])
        between = np.mean([drives[k - 6:k].mean() for k in frames])
        result[name] = (drives.mean(), on / between)
    for name, (mean, lurch) in result.items():
        assert 0.8 < mean < 1.4, result  # a face meant to hold 2.5 s holds 1.8 s or longer
        assert lurch > 2.5, result  # the faces move on the kick, not between
    assert max(m for m, _ in result.values()) < 1.15 * min(m for m, _ in result.values())  # loudness does not matter


def test_reactivity_maps_silence_loudness_and_onsets_to_a_pace():
    still = Reactivity(1.0, 30.0)
    assert still.drive(AudioFeatures()) == pytest.approx(0.12)
    assert Reactivity(1.0, 30.0).drive(AudioFeatures(level=1.0)) == pytest.approx(2.0)
    assert Reactivity(0.0, 30.0).drive(AudioFeatures(level=1.0, hit=True, onset=1.0)) == 1.0
    pushed = Reactivity(1.0, 30.0)
    paces = [pushed.drive(AudioFeatures(level=0.5, hit=i == 0, onset=1.0)) for i in range(30)]
    assert paces[0] > 4 * paces[-1] and all(a >= b for a, b in zip(paces, paces[1:]))  # a push that decays
    for bad in (math.nan, -0.1, 2.5, math.inf):
        with pytest.raises(ValueError):
            Reactivity(bad, 30.0)


# --- renders -------------------------------------------------------------------------------------------

def test_render_with_a_track_is_as_long_as_it_and_carries_it(tmp_path):
    track = write_track(tmp_path / "track.wav", kicks(np.arange(0.2, 3.0, 0.5), 3.3) + noise(3.3, 0.01))
    for suffix, codec in ((".mp4", "aac"), (".mkv", "pcm_s24le"), (".mov", "pcm_s24le")):
        out = tmp_path / f"clip{suffix}"
        assert main(["render", "--walk", "wander", "--size", "64x64", "--fps", "30", "--audio", str(track),
                     "-o", str(out), "--no-progress"]) == 0
        with av.open(str(out)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert audio.codec_context.name == codec and audio.rate == RATE and audio.channels == 2
            frames = sum(1 for _ in container.decode(video=0))
        with av.open(str(out)) as container:
            chunks = [f.to_ndarray().reshape(2, -1)[0] if f.format.is_planar else f.to_ndarray().reshape(-1, 2)[:, 0]
                      for f in container.decode(audio=0)]
        samples = np.concatenate(chunks).astype(np.float64)
        if chunks[0].dtype.kind == "i":  # 24-bit PCM decodes as 32-bit integers
            samples /= 2.0 ** 31
        assert frames == 99  # 3.3 s at 30 fps
        assert abs(len(samples) / RATE - 3.3) <= 1 / 30 + 1024 / RATE  # within a frame (AAC adds its priming)
        source = kicks(np.arange(0.2, 3.0, 0.5), 3.3)
        scale = np.abs(samples).max() / np.abs(source).max()
        offset = int(np.argmax(np.abs(samples) > 0.5 * np.abs(samples).max()))
        assert abs(offset - np.argmax(np.abs(source) > 0.5 * np.abs(source).max())) < 0.002 * RATE  # aligned
        assert 0.5 < scale < 2.0


def test_png_frames_get_the_track_beside_them(tmp_path):
    track = write_track(tmp_path / "t.wav", noise(1.0, 0.1))
    assert main(["render", "--walk", "wander", "--size", "32x32", "--audio", str(track), "--seconds", "0.5",
                 "-o", str(tmp_path / "frames"), "--no-progress"]) == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 15
    with av.open(str(tmp_path / "frames" / "soundtrack.wav")) as container:
        assert sum(f.samples for f in container.decode(audio=0)) == RATE // 2  # cut to the frames


def test_the_picture_moves_on_onsets_and_with_loudness(tmp_path):
    """Measured on decoded frames: far more change at kicks than between, and when loud than silent."""
    beats = np.arange(0.25, 4.0, 0.5)
    track = np.concatenate((kicks(beats, 4.0) + noise(4.0, 0.003), np.zeros(2 * RATE), noise(2.0, 0.2, seed=3)))
    path = write_track(tmp_path / "music.wav", track)
    out = tmp_path / "music.mkv"
    assert main(["render", "--walk", "wander", "--speed", "0.5", "--size", "128x128", "--fps", "30",
                 "--audio", str(path), "-o", str(out), "--no-progress"]) == 0
    change = frame_changes(out)
    kick_frames = [math.ceil(t * FPS) for t in beats[1:]]
    on = np.mean([change[k - 1:k + 3].max() for k in kick_frames])
    between = np.mean([change[k + 8:k + 14].mean() for k in kick_frames[:-1]])
    silent, loud = change[4 * FPS + 15:6 * FPS - 2].mean(), change[6 * FPS + 5:8 * FPS - 2].mean()
    assert on > 2.0 * between, (on, between)
    assert loud > 5.0 * silent, (loud, silent)


def test_reactivity_zero_renders_the_show_as_without_audio(tmp_path):
    track = write_track(tmp_path / "t.wav", kicks([0.1, 0.4], 1.0))
    common = ["--walk", "wander", "--size", "48x48", "--seconds", "1", "--no-progress"]
    assert main(["render", *common, "-o", str(tmp_path / "plain.mkv")]) == 0
    assert main(["render", *common, "--audio", str(track), "--reactivity", "0", "-o", str(tmp_path / "deaf.mkv")]) == 0
    plain, _ = decode(tmp_path / "plain.mkv")
    deaf, _ = decode(tmp_path / "deaf.mkv")
    assert len(plain) == len(deaf) == 30 and all(np.array_equal(a, b) for a, b in zip(plain, deaf))


def test_portraits_advance_on_onsets(tmp_path):
    """advance = "onset": each kick starts the dissolve to the next face (a face holds 0.5 s at least)."""
    show = tmp_path / "show.toml"
    show.write_text('[show]\nfps = 30\n[[cue]]\nkind = "portraits"\ncount = 50\nhold = 20\ndissolve = 0.3\n'
                    'advance = "onset"\n')
    beats = [1.0, 2.0, 2.2, 3.0]  # the kick at 2.2 comes while the face of 2.0 is still new: ignored
    track = write_track(tmp_path / "k.wav", kicks(beats, 4.0))
    out = tmp_path / "p.mkv"
    assert main(["render", str(show), "--size", "64x64", "--audio", str(track), "--reactivity", "0",
                 "-o", str(out), "--no-progress"]) == 0
    change = frame_changes(out)
    moving = [i for i in range(len(change)) if change[i] > 1.0]
    starts = [i for i in moving if i - 1 not in moving]
    assert starts == [31, 61, 91], starts  # the frames that hear the kicks at 1, 2 and 3 s start dissolving


def test_audio_bindings_drive_faders(tmp_path):
    show = tmp_path / "show.toml"
    show.write_text('[show]\nfps = 30\n[[cue]]\nkind = "hold"\nduration = 60\n'
                    '[[binding]]\naddress = "audio/level"\ntarget = "/vernissage/render/brightness"\n'
                    'output = [0.2, 1.0]\n')
    track = write_track(tmp_path / "t.wav", np.concatenate((np.zeros(RATE), noise(1.0, 0.3))))
    out = tmp_path / "b.mkv"
    assert main(["render", str(show), "--size", "64x64", "--audio", str(track), "--reactivity", "0",
                 "-o", str(out), "--no-progress"]) == 0
    frames, _ = decode(out)
    assert frames[50].mean() > 2.0 * frames[20].mean()  # loud: bright; silent: dark


def test_an_audio_reactive_live_show_replays_bit_identically(tmp_path):
    """play --audio FILE (the file standing in for a sound card, heard in step with the show),
    then render --replay without the audio: the same frames."""
    track = write_track(tmp_path / "t.wav", kicks(np.arange(0.3, 5.0, 0.47), 5.0) + noise(5.0, 0.02))
    log, live_dir, replay_dir = tmp_path / "p.jsonl", tmp_path / "live", tmp_path / "replay"
    played = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                             "--size", "64x64", "--fps", "20", "--duration", "4", "--audio", str(track),
                             "--record", str(live_dir), "--performance-log", str(log)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert played.returncode == 0, played.stderr
    performance = read_performance(log)
    frames = [c.command for c in performance.commands if isinstance(c.command, AudioFrame)]
    assert len(frames) >= len(performance.shown_ticks()) and sum(f.hit for f in frames) >= 6
    assert main(["render", "--replay", str(log), "-o", str(replay_dir), "--no-progress"]) == 0
    assert_replay_matches(performance, live_dir, replay_dir)


@pytest.mark.skipif(not any(Path(p, "libportaudio.so.2").exists() for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib")),
                    reason="no PortAudio library on this machine (install/setup.sh installs libportaudio2)")
def test_a_sound_card_through_portaudio(tmp_path):
    """The real device path (sounddevice -> PortAudio -> ALSA): ALSA's file plugin stands in for a
    sound card with no hardware, its capture reading a file of kicks (it delivers as fast as it
    is read, so this checks the samples and the path, not the timing)."""
    raw = tmp_path / "capture.raw"
    (kicks(np.arange(0.1, 2.0, 0.3), 2.0) * 0.9).astype(np.float32).tofile(raw)
    (tmp_path / ".asoundrc").write_text(f'pcm.!default {{\n type file\n slave.pcm "null"\n file "/dev/null"\n'
                                        f' infile "{raw}"\n format "raw"\n}}\n')
    env = {**os.environ, "HOME": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--audio", "list"], capture_output=True,
                            text=True, env=env)
    assert listed.returncode == 0 and "default" in listed.stdout
    log = tmp_path / "p.jsonl"
    played = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                             "--size", "32x32", "--fps", "20", "--duration", "2", "--audio",
                             "--performance-log", str(log)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert played.returncode == 0, played.stderr
    assert "audio input: default at 48000 Hz" in played.stderr
    frames = [c.command for c in read_performance(log).commands if isinstance(c.command, AudioFrame)]
    assert len(frames) >= 30 and max(AudioFeatures.from_values(list(f.heard)).level for f in frames) > 0.5


# --- hostile input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,content,message", [
    ("missing.wav", None, "no such audio file"),
    ("empty.wav", b"", "cannot read audio"),
    ("text.wav", b"RIFF not really a wave file at all", "cannot read audio"),
])
def test_tracks_that_cannot_be_used_are_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    done = cli_in_process("render", "--walk", "wander", "--size", "32x32", "--audio", str(path), "-o",
                          str(tmp_path / "x.mp4"), cwd=ROOT)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(err) == 1 and message in err[0] and str(path) in err[0], err


def test_a_track_without_samples_or_without_audio(tmp_path):
    silent_video = tmp_path / "video.mkv"
    assert main(["render", "--walk", "wander", "--size", "32x32", "--frames", "2", "-o", str(silent_video),
                 "--no-progress"]) == 0
    with pytest.raises(AudioError, match="no audio stream"):
        track_seconds(silent_video)
    empty = write_track(tmp_path / "none.wav", np.zeros(0))
    with pytest.raises(AudioError):
        track_seconds(empty)


def test_hostile_samples_are_clipped_not_propagated():
    analyzer = Analyzer()
    analyzer.feed(np.array([np.nan, np.inf, -np.inf, 1e30, -1e30] * 2000, dtype=np.float64))
    features = analyzer.take()
    assert all(math.isfinite(v) and 0.0 <= v <= 1000.0 for v in features.values())


@pytest.mark.parametrize("record,message", [
    ('{"tick":0,"audio":[0,0,0,0,0,0,0,0],"drive":1}', "audio features are 9 numbers"),
    ('{"tick":0,"audio":[NaN,0,0,0,0,0,0,0,0],"drive":1}', "must be a finite number"),
    ('{"tick":0,"audio":[2,0,0,0,0,0,0,0,0],"drive":1}', "must be 0..1"),
    ('{"tick":0,"audio":[0,0,0,0,0,0,0,0,0],"drive":1e300}', "'drive' must be a speed factor"),
    ('{"tick":0,"audio":"loud","drive":1}', "'audio' must list"),
    ('{"tick":0,"audio":[0,0,0,0,0,0,"x",0,0],"drive":1}', "must be a finite number"),
])
def test_hostile_audio_records_in_a_log_are_one_line(tmp_path, record, message):
    log = tmp_path / "p.jsonl"
    log.write_text('{"format":"vernissage-performance/2","program":{},"fps":"30","keyframe_rate":"30","start":0,'
                   '"size":[32,32]}\n' + record + "\n")
    with pytest.raises(PerformanceLogError) as exc:
        read_performance(log)
    assert str(exc.value).startswith(f"{log}:2: ") and message in str(exc.value) and "\n" not in str(exc.value)


def test_audio_bindings_name_their_line(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text('[[binding]]\naddress = "audio/loudness"\ntarget = "/vernissage/render/grain"\n')
    with pytest.raises(BindingError, match=r"b.toml:2: 'audio/loudness' is not an audio feature; one of audio/level"):
        load_bindings(path)
    path.write_text('[[binding]]\naddress = "audio/low"\ntarget = "/vernissage/render/grain"\n')
    assert load_bindings(path)[0].address == "audio/low"


def test_bad_reactivity_and_advance_are_refused(tmp_path):
    for value in ("nan", "-1", "3", "inf", "loud"):
        done = vernissage("render", "--walk", "wander", "--reactivity", value, "-o", str(tmp_path / "x.mp4"))
        assert done.returncode == 2 and "--reactivity" in done.stderr
    show = tmp_path / "s.toml"
    show.write_text('[[cue]]\nkind = "portraits"\nadvance = "kick"\n')
    done = vernissage("check", str(show))
    assert done.returncode == 1
    assert done.stderr.strip() == f"ERROR vernissage: {show}:3: 'advance' must be one of time, onset, beat, got 'kick'"

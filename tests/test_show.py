"""Show scripts: every cue kind, transitions, never-repeat registry, hot reload, file:line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine.frames import FrameSpec
from engine.generators.catalog import latent_dim_of
from engine.latent import latent_from_seed
from engine.show import Registry, ShowError, Timeline, load_show
from engine.show.reload import ShowWatcher

SHOWS = Path(__file__).resolve().parents[1] / "shows"
DIM = 100


def write(tmp_path: Path, body: str, name: str = "show.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def timeline(tmp_path: Path, body: str) -> Timeline:
    return Timeline(load_show(write(tmp_path, body)), DIM)


def only_face(spec: FrameSpec) -> np.ndarray:
    assert len(spec.faces) == 1 and spec.faces[0][1] == 1.0
    return spec.faces[0][0].latent


@pytest.mark.parametrize("name", ["never_existed", "morph_gallery", "seamless_loop", "vj_wander"])
def test_example_shows_are_valid(name):
    show = load_show(SHOWS / f"{name}.toml", latent_dim=latent_dim_of)
    assert show.cues


def test_portraits_hold_then_dissolve_with_numbered_captions(tmp_path):
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "portraits"
        count = 3
        hold = 4
        dissolve = 2
        caption = "No. {n:03d}"
        """)
    first, later = tl(1.0), tl(3.9)
    assert np.array_equal(only_face(first), only_face(later))  # held
    assert first.text.content == "No. 001"
    mid = tl(5.0)  # halfway through the dissolve into portrait 2
    assert len(mid.faces) == 2 and abs(mid.faces[0][1] - 0.5) < 1e-9
    assert tl(7.0).text.content == "No. 002"
    assert not np.array_equal(only_face(tl(7.0)), only_face(first))
    faces = {only_face(tl(t)).tobytes() for t in (1.0, 7.0, 13.0)}
    assert len(faces) == 3


def test_portraits_are_new_in_every_cycle_of_a_looping_show(tmp_path):
    tl = timeline(tmp_path, """
        [show]
        seed = 5
        [[cue]]
        kind = "portraits"
        count = 2
        hold = 1
        dissolve = 0
        """)
    seen = [only_face(tl(t + 0.5)).tobytes() for t in range(20)]  # ten cycles of the show
    assert len(set(seen)) == 20
    assert tl.portrait_at(12.5).number == 12


def test_min_distance_keeps_recent_faces_apart():
    from engine.show.portraits import WINDOW, PortraitSequence

    close = PortraitSequence(1, DIM, min_distance=12.0)  # random pairs sit ~14.1 +- 0.7 apart in 100-d
    seeds = [close.seed(n) for n in range(40)]
    latents = np.array([latent_from_seed(s, DIM) for s in seeds])
    gaps = [np.linalg.norm(latents[i] - latents[j]) for i in range(40) for j in range(i + 1, min(40, i + WINDOW + 1))]
    assert min(gaps) >= 12.0 and len(set(seeds)) == 40
    assert any(close.seed(n) != close.candidates(n)[0] for n in range(40))  # the rule did pick other faces
    free = PortraitSequence(1, DIM)
    assert [free.seed(n) for n in range(40)] == [free.candidates(n)[0] for n in range(40)]


def test_morph_passes_through_each_face_and_holds(tmp_path):
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "morph"
        faces = [3, 8, 13]
        hold = 1
        morph = 2
        """)
    for k, seed in enumerate((3, 8, 13)):
        assert np.allclose(only_face(tl(3.0 * k + 0.5)), latent_from_seed(seed, DIM))
    between = only_face(tl(2.0))
    assert not np.allclose(between, latent_from_seed(3, DIM)) and not np.allclose(between, latent_from_seed(8, DIM))
    assert np.allclose(only_face(tl(9.0 + 0.5)), latent_from_seed(3, DIM))  # loops back


def test_morph_from_saved_latent_file(tmp_path):
    np.save(tmp_path / "chosen.npy", latent_from_seed(77, DIM))
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "morph"
        faces = ["chosen.npy", 5]
        hold = 1
        morph = 1
        """)
    assert np.allclose(only_face(tl(0.5)), latent_from_seed(77, DIM))


def test_loop_and_wander_and_hold_cues(tmp_path):
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "loop"
        period = 4
        seed = 2
        repeat = 2
        [[cue]]
        kind = "hold"
        seed = 9
        duration = 3
        [[cue]]
        kind = "wander"
        speed = 1.0
        duration = 5
        """)
    assert tl.duration == 16
    assert np.array_equal(only_face(tl(0.0)), only_face(tl(4.0)))  # the loop repeats exactly
    assert np.allclose(only_face(tl(9.0)), latent_from_seed(9, DIM))
    assert not np.array_equal(only_face(tl(11.5)), only_face(tl(12.5)))  # wandering
    assert tl.period == 16 and np.array_equal(only_face(tl(1.0)), only_face(tl(17.0)))


def test_transition_cross_dissolves_from_the_previous_cue(tmp_path):
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "hold"
        seed = 1
        duration = 4
        [[cue]]
        kind = "hold"
        seed = 2
        duration = 4
        transition = 2
        """)
    assert np.allclose(only_face(tl(3.9)), latent_from_seed(1, DIM))
    mid = tl(5.0)
    weights = {int(np.allclose(f.latent, latent_from_seed(2, DIM))): w for f, w in mid.faces}
    assert abs(weights[0] - 0.5) < 1e-9 and abs(weights[1] - 0.5) < 1e-9
    assert np.allclose(only_face(tl(6.5)), latent_from_seed(2, DIM))


def test_fade_and_title_cues(tmp_path):
    tl = timeline(tmp_path, """
        [[cue]]
        kind = "title"
        text = "Opening"
        duration = 2
        [[cue]]
        kind = "hold"
        seed = 1
        duration = 2
        [[cue]]
        kind = "fade"
        to = "#ff0000"
        duration = 2
        """)
    title = tl(1.0)
    assert title.faces == () and title.text.content == "Opening" and title.text.style == "title"
    assert tl(4.0).fade == 0.0
    halfway = tl(5.0)
    assert halfway.fade_color == (1.0, 0.0, 0.0) and abs(halfway.fade - 0.5) < 1e-9
    assert np.allclose(only_face(halfway), latent_from_seed(1, DIM))  # the held face, fading
    assert tl(5.99).fade > 0.99


def test_non_looping_show_holds_its_last_frame(tmp_path):
    tl = timeline(tmp_path, """
        [show]
        loop = false
        [[cue]]
        kind = "hold"
        seed = 4
        duration = 2
        """)
    assert np.allclose(only_face(tl(100.0)), latent_from_seed(4, DIM))


def test_registry_never_repeats_across_runs_and_resumes(tmp_path):
    show_path = write(tmp_path, '[[cue]]\nkind = "portraits"\ncount = 3\nhold = 1\ndissolve = 0\n')
    first = Registry.for_show(show_path, 1, DIM, 0.0)
    tl = Timeline(load_show(show_path), DIM, first.sequence)
    shown_first = []
    for t in np.arange(0.5, 5.0, 1.0):
        portrait = tl.portrait_at(t)
        first.mark(portrait.number, t)
        shown_first.append(portrait.seed)
    first.save()
    second = Registry.for_show(show_path, 1, DIM, 0.0)  # a restart
    assert second.shown == 5 and second.show_time == 4.5
    tl2 = Timeline(load_show(show_path), DIM, second.sequence)
    shown_second = [tl2.portrait_at(second.show_time + 1 + k).seed for k in range(5)]
    assert not set(shown_first) & set(shown_second)
    saved = json.loads((tmp_path / "show.registry.json").read_text())
    assert saved == {"version": 2, "show_seed": 1, "dim": DIM, "shown": 5, "show_time": 4.5}  # small: no seed list


KILLER = """
import sys
from pathlib import Path
from engine.show.registry import Registry
reg = Registry.for_show(Path(sys.argv[1]), 3, 100, 0.0)
print("ready", flush=True)
n = 0
while True:
    reg.mark(n, float(n))
    reg.save()
    n += 1
"""


def test_registry_survives_a_kill_mid_write(tmp_path):
    show_path = write(tmp_path, '[[cue]]\nkind = "hold"\nduration = 1\n')
    for attempt in range(5):
        process = subprocess.Popen([sys.executable, "-c", KILLER, str(show_path)], stdout=subprocess.PIPE,
                                   cwd=Path(__file__).resolve().parents[1])
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.05 + 0.03 * attempt)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        registry = Registry.for_show(show_path, 3, 100, 0.0)  # must parse: old or new, never torn
        assert registry.shown >= 1
    assert not list(tmp_path.glob("*.bad"))


def test_a_corrupt_registry_is_kept_aside_and_replaced(tmp_path):
    show_path = write(tmp_path, '[[cue]]\nkind = "hold"\nduration = 1\n')
    (tmp_path / "show.registry.json").write_text("{not json")
    registry = Registry.for_show(show_path, 3, 100, 0.0)
    assert registry.shown == 0 and (tmp_path / "show.registry.json.bad").exists()


def test_hot_reload_applies_good_edits_and_keeps_the_last_good_show(tmp_path, caplog):
    path = write(tmp_path, '[[cue]]\nkind = "hold"\nseed = 1\nduration = 5\n')
    watcher = ShowWatcher(path)
    assert watcher.poll() is None
    time.sleep(0.01)
    path.write_text('[[cue]]\nkind = "hold"\nseed = 2\nduration = 5\n')
    reloaded = watcher.poll()
    assert reloaded is not None and reloaded.cues[0].settings.seed == 2
    path.write_text('[[cue]]\nkind = "hold"\nseed = 3\nduration = -5\n')
    assert watcher.poll() is None
    assert watcher.show.cues[0].settings.seed == 2
    assert watcher.error == f"{path}:4: 'duration' must be greater than zero, got -5"
    assert f"{path}:4:" in caplog.text
    path.write_text('[[cue]]\nkind = "hold"\nseed = 4\nduration = 5\n')
    assert watcher.poll().cues[0].settings.seed == 4 and watcher.error is None


BROKEN = [
    ('[show]\nfps = 30\nmodel = "digiface-dcgan64"\n[[cue]]\nkind = "hold"\nduration = \n',
     6, "invalid TOML: "),
    ('[shw]\nfps = 30\n', 1, "unknown table 'shw' (did you mean 'show'?)"),
    ('[show]\nfps = 30\nmodle = "x"\n', 3, "unknown key 'modle' in [show] (did you mean 'model'?)"),
    ('[show]\nfps = "thirty"\n', 2, "'fps' must be a number, got string 'thirty'"),
    ('[show]\nfps = 999\n[[cue]]\nkind = "hold"\nduration = 1\n', 2, "'fps' must be between 1 and 240, got 999"),
    ('[show]\nsize = "huge"\n[[cue]]\nkind = "hold"\nduration = 1\n', 2, "size 'huge' is not WIDTHxHEIGHT, e.g. 1920x1080"),
    ('[show]\nmodel = "nope"\n[[cue]]\nkind = "hold"\nduration = 1\n', 2, "unknown model 'nope' (available: digiface-dcgan64"),
    ('[show]\nmodel = "models/mine"\n[[cue]]\nkind = "hold"\nduration = 1\n', 2,
     "no such model file or folder: "),  # named in the show's folder, where it was looked for first
    ('[caption]\nfont = "missing.ttf"\n[[cue]]\nkind = "hold"\nduration = 1\n', 2,
     "font file 'missing.ttf' not found (relative to the show file)"),
    ('[show]\nseed = 1\n', 1, "the show has no cues; add at least one [[cue]] table"),
    ('[[cue]]\nduration = 4\n', 1, "cue has no 'kind' (expected one of: portraits, morph, loop"),
    ('[[cue]]\nkind = "hold"\nduration = 1\n\n[[cue]]\nkind = "morf"\n', 6,
     "unknown cue kind 'morf' (did you mean 'morph'?)"),
    ('[[cue]]\nkind = "hold"\nduraton = 4\n', 3, "unknown key 'duraton' in a 'hold' cue (did you mean 'duration'?)"),
    ('[[cue]]\nkind = "hold"\nduration = -2\n', 3, "'duration' must be greater than zero, got -2"),
    ('[[cue]]\nkind = "hold"\n', 1, "missing 'duration' (a positive number of seconds)"),
    ('[[cue]]\nkind = "morph"\nfaces = [1]\n', 3, "'faces' must list 2 to 256 seeds or .npy latents, got 1"),
    ('[[cue]]\nkind = "morph"\nfaces = [1, 2]\neasing = "bouncy"\n', 4, "unknown easing 'bouncy'"),
    ('[[cue]]\nkind = "portraits"\ncaption = "No. {m}"\n', 3, "caption template 'No. {m}' is invalid"),
    ('[[cue]]\nkind = "portraits"\ncount = 0\n', 3, "'count' must be 1 to 1000000, got 0"),
    ('[[cue]]\nkind = "fade"\nto = "#zzz"\nduration = 2\n', 3, "'to' must be 'black', 'white' or '#rrggbb', got '#zzz'"),
    ('[[cue]]\nkind = "loop"\nperiod = 0\n', 3, "'period' must be greater than zero, got 0"),
    ('[[cue]]\nkind = "hold"\nduration = 2\ntransition = 3\n', 4, "'transition' (3 s) is longer than the cue (2 s)"),
    ('[[cue]]\nkind = "wander"\n[[cue]]\nkind = "hold"\nduration = 1\n', 1,
     "an endless 'wander' cue can only be the last cue; give it a duration"),
    ('[[cue]]\nkind = "hold"\nseed = -3\nduration = 1\n', 3, "'seed' must be 0 or more, got -3"),
    ('[look]\ngrain = "lots"\n[[cue]]\nkind = "hold"\nduration = 1\n', 2, "'grain' must be a number, got string 'lots'"),
    ('[[cue]]\nkind = "title"\nduration = 2\n', 1, "a 'title' cue needs 'text'"),
    ('[[cue]]\nkind = "portraits"\ncount = 2\nduration = 9\n', 4, "a 'portraits' cue's duration follows from"),
]


@pytest.mark.parametrize("body,line,message", BROKEN, ids=[m[:30] for _, _, m in BROKEN])
def test_broken_shows_give_their_exact_file_line_message(tmp_path, body, line, message):
    path = write(tmp_path, body)
    with pytest.raises(ShowError) as exc:
        load_show(path, latent_dim=latent_dim_of)
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}: {message}"), text


def test_check_command_prints_one_line_and_fails(tmp_path):
    path = write(tmp_path, '[[cue]]\nkind = "hold"\nduration = -1\n')
    result = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(path)], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"ERROR vernissage: {path}:3: 'duration' must be greater than zero, got -1"]
    ok = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(SHOWS / "never_existed.toml")],
                        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert ok.returncode == 0 and "ok (3 cues" in ok.stdout


def test_anchor_makes_show_time_a_function_of_the_wall_clock(tmp_path):
    import datetime as dt

    from engine.show.anchor import show_time_at

    show = load_show(write(tmp_path, '[show]\nanchor = "2026-12-01T10:00:00"\n[[cue]]\nkind = "hold"\nduration = 60\n'))
    assert show_time_at(show, dt.datetime(2026, 12, 1, 10, 0, 30)) == 30.0
    assert show_time_at(show, dt.datetime(2026, 12, 3, 10, 0, 0)) == 2 * 86400.0
    plain = load_show(write(tmp_path, '[[cue]]\nkind = "hold"\nduration = 60\n', "plain.toml"))
    assert show_time_at(plain, dt.datetime(2026, 12, 1)) is None


def test_bad_anchor_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, '[show]\nseed = 1\nanchor = "next tuesday"\n[[cue]]\nkind = "hold"\nduration = 1\n')
    with pytest.raises(ShowError) as exc:
        load_show(path)
    assert str(exc.value).startswith(f"{path}:3: 'anchor' must be an ISO date-time")


def test_style_mixing_is_a_cue_option(tmp_path):
    tl = timeline(tmp_path, '[[cue]]\nkind = "hold"\nseed = 1\nduration = 2\nstyle_seed = 9\nstyle_from = 3\n')
    face, weight = tl(1.0).faces[0]
    assert weight == 1.0 and face.mix_from == 3
    assert np.allclose(face.latent, latent_from_seed(1, DIM)) and np.allclose(face.mix, latent_from_seed(9, DIM))
    path = write(tmp_path, '[[cue]]\nkind = "hold"\nduration = 2\nstyle_from = 3\n', "bad.toml")
    with pytest.raises(ShowError) as exc:
        load_show(path)
    assert str(exc.value).startswith(f"{path}:4: 'style_from' needs 'style_seed'")


def test_style_mixing_changes_only_what_the_fine_layers_draw(tmp_path):
    """On a StyleGAN2, mixing keeps the coarse layout and changes detail (real fixture network)."""
    fixture = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "stylegan2" / "rosinality_64.pt"
    if not fixture.exists():
        pytest.skip("StyleGAN2 fixture not found")
    from engine.generators.loading import load_generator
    from engine.loop.generation import generate_images

    generator = load_generator(fixture, device="cpu")
    base = f'[show]\nmodel = "{fixture}"\n[[cue]]\nkind = "hold"\nseed = 1\nduration = 2\n'
    plain = Timeline(load_show(write(tmp_path, base, "a.toml")), generator.z_dim)
    mixed = Timeline(load_show(write(tmp_path, base + "style_seed = 9\nstyle_from = 6\n", "b.toml")), generator.z_dim)
    other = Timeline(load_show(write(tmp_path, base.replace("seed = 1", "seed = 9"), "c.toml")), generator.z_dim)
    a, b, c = (generate_images(generator, [tl(1.0)])[0][0].astype(int) for tl in (plain, mixed, other))
    assert 0 < np.abs(a - b).mean() < np.abs(a - c).mean()


TRIPTYCH = """
[show]
seed = 5
[[cue]]
kind = "hold"
seed = {a}
duration = 2
tile = [0, 0]
[[cue]]
kind = "hold"
seed = {b}
duration = 2
tile = [1, 0]
[[cue]]
kind = "hold"
seed = {c}
duration = 1
tile = [2, 0]
[[cue]]
kind = "fade"
duration = 1
tile = [2, 0]
"""


def test_each_screen_of_a_wall_plays_its_own_cues_laid_out_on_itself(tmp_path):
    from PIL import Image

    from engine.cli import main

    show = write(tmp_path, TRIPTYCH.format(a=11, b=22, c=33))
    common = ["--size", "48x64", "--frames", "1", "--no-progress", "--wall", "3x1", "--bezel", "10"]
    tiles = []
    for column in range(3):
        out = tmp_path / f"tile{column}"
        assert main(["render", str(show), *common, "--tile", f"{column},0", "-o", str(out)]) == 0
        tiles.append(np.asarray(Image.open(out / "000000.png")).astype(int))
    for column, seed in enumerate((11, 22, 33)):  # each is its face alone on one screen, not a third of a canvas
        alone = write(tmp_path, f'[show]\nseed = 5\n[[cue]]\nkind = "hold"\nseed = {seed}\nduration = 2\n', f"alone{seed}.toml")
        assert main(["render", str(alone), "--size", "48x64", "--frames", "1", "--no-progress",
                     "-o", str(tmp_path / f"alone{seed}")]) == 0
        assert np.array_equal(tiles[column], np.asarray(Image.open(tmp_path / f"alone{seed}" / "000000.png")).astype(int))
    assert min(np.abs(tiles[i] - tiles[j]).mean() for i, j in ((0, 1), (1, 2), (0, 2))) > 5


def test_a_cue_for_a_screen_the_wall_lacks_is_refused_at_its_line(tmp_path, caplog):
    from engine.cli import main

    show = write(tmp_path, TRIPTYCH.format(a=1, b=2, c=3))
    assert main(["check", str(show), "--wall", "3x1"]) == 0
    assert main(["check", str(show), "--wall", "2x1"]) == 1
    assert f"{show}:13: tile 2,0 is outside a 2x1 wall (columns 0-1, rows 0-0)" in caplog.text
    caplog.clear()
    assert main(["render", str(show), "--size", "32x32", "--frames", "1", "--no-progress", "--wall", "2x1",
                 "--tile", "0,0", "-o", str(tmp_path / "out")]) == 1
    assert f"{show}:13: tile 2,0 is outside" in caplog.text
    only_tiles = write(tmp_path, '[[cue]]\nkind = "hold"\nduration = 1\ntile = [1, 0]\n', "one.toml")
    caplog.clear()
    assert main(["check", str(only_tiles), "--wall", "2x1"]) == 1
    assert "no cues for tile 0,0" in caplog.text

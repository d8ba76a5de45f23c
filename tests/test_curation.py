"""A curator's say: preview sheets of the faces a show will show, and seeds kept out of it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.curation.preview import portrait_sheet, upcoming
from engine.render.sheet import MARGIN
from engine.show import ShowError, Timeline, load_show
from engine.show.portraits import CANDIDATES, PortraitSequence, permute

ROOT = Path(__file__).resolve().parents[1]
DIM = 100
SHOW = """
[show]
seed = 7
{extra}
[[cue]]
kind = "portraits"
count = 6
hold = 2
dissolve = 1
min_distance = 4.0
"""


def _show(tmp_path: Path, extra: str = "", name: str = "show.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(SHOW.format(extra=extra)).lstrip(), encoding="utf-8")
    return path


def _seeds(path: Path, count: int) -> list[int]:
    sequence = Timeline(load_show(path), DIM).portraits
    return [sequence.seed(n) for n in range(count)]


def test_excluded_seeds_never_appear_no_face_repeats_and_every_other_number_keeps_its_face(tmp_path):
    before = _seeds(_show(tmp_path), 300)
    taken_out = {3: before[3], 40: before[40], 41: before[41], 299: before[299]}
    path = _show(tmp_path, f"exclude = {sorted(taken_out.values())}", "curated.toml")
    after = _seeds(path, 300)
    assert not set(taken_out.values()) & set(after)
    assert len(set(after)) == 300  # no face twice
    changed = [n for n in range(300) if after[n] != before[n]]
    assert changed == sorted(taken_out)  # only the excluded numbers changed, 40 and 41 side by side included


def test_the_timeline_shows_the_replacement_face(tmp_path):
    plain, curated = _show(tmp_path), None
    first = _seeds(plain, 1)[0]
    curated = _show(tmp_path, f"exclude = [{first}]", "curated.toml")
    timeline = Timeline(load_show(curated), DIM)
    caption_seed = timeline.portraits.seed(0)
    assert caption_seed != first and caption_seed == _seeds(curated, 1)[0]


def test_a_portrait_whose_every_candidate_is_excluded_takes_a_spare(tmp_path):
    sequence = PortraitSequence(7, DIM)
    own = [permute(sequence._key, 5 * CANDIDATES + i) for i in range(CANDIDATES)]  # all of portrait 5's
    curated = sequence.excluding(own)
    seeds = [curated.seed(n) for n in range(50)]
    assert not set(own) & set(seeds) and len(set(seeds)) == 50
    assert [n for n in range(50) if seeds[n] != sequence.seed(n)] == [5]


def test_an_exclude_file_with_a_curators_notes(tmp_path):
    first, second = _seeds(_show(tmp_path), 2)
    (tmp_path / "excluded.txt").write_text(f"# No. 1: too dark\n{first}\n\n{second}  # No. 2: melted\n")
    path = _show(tmp_path, 'exclude_file = "excluded.txt"', "curated.toml")
    assert load_show(path).settings.exclude == {first, second}
    assert not {first, second} & set(_seeds(path, 10))


@pytest.mark.parametrize("extra,message", [
    ("exclude = [-1]", "show.toml:3: 'exclude': -1 is not a portrait seed"),
    ("exclude = [4611686018427387904]", "4611686018427387904 is not a portrait seed"),
    ("exclude = [nan]", "nan is not a portrait seed"),
    ("exclude = [inf]", "inf is not a portrait seed"),
    ("exclude = [1.5]", "1.5 is not a portrait seed"),
    ('exclude = ["12"]', "'12' is not a portrait seed"),
    ("exclude = [true]", "True is not a portrait seed"),
    ("exclude = [[1, [2]]]", "[1, [2]] is not a portrait seed"),
    ("exclude = 12", "'exclude' must be a list, got integer 12"),
    ("exclude = [" + ", ".join(str(i) for i in range(1001)) + "]", "at most 1000 seeds can be excluded, got 1001"),
    ('exclude_file = "../outside.txt"', "exclude file '../outside.txt' must be a file inside the show's folder"),
    ('exclude_file = "/etc/passwd"', "must be a file inside the show's folder"),
    ('exclude_file = "missing.txt"', "exclude file 'missing.txt' not found"),
    ('exclude_file = "bad.txt"', "bad.txt:2: 'twelve' is not a portrait seed"),
    ('exclude_file = "huge.txt"', "bad"),
    ('exclude_file = "binary.txt"', "cannot be read"),
    ("exlude = [1]", "unknown key 'exlude' in [show] (did you mean 'exclude'?)"),
])
def test_bad_exclusions_are_one_line_at_their_place(tmp_path, extra, message):
    (tmp_path / "bad.txt").write_text("12\ntwelve\n")
    (tmp_path / "huge.txt").write_text("1\n" * 600_000)
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path.parent / "outside.txt").write_text("1\n")
    if message == "bad":
        message = "exclude file 'huge.txt' is over 1 MB"
    with pytest.raises(ShowError) as caught:
        load_show(_show(tmp_path, extra))
    text = str(caught.value)
    assert message in text and "\n" not in text, text


def test_the_preview_sheet_shows_each_portrait_as_the_show_makes_it(tmp_path, generator):
    plain = load_show(_show(tmp_path))
    sheet = portrait_sheet(plain, generator, 1, 8, columns=4, tile=64)
    first_seed = Timeline(plain, generator.z_dim).portraits.seed(0)
    curated = load_show(_show(tmp_path, f"exclude = [{first_seed}]", "curated.toml"))
    again = np.asarray(portrait_sheet(curated, generator, 1, 8, columns=4, tile=64)).astype(int)
    pixels = np.asarray(sheet).astype(int)
    assert sheet.size[0] == MARGIN + 4 * (64 + MARGIN) and pixels.shape == again.shape

    def tile(image: np.ndarray, i: int) -> np.ndarray:
        x, y = MARGIN + (i % 4) * (64 + MARGIN), MARGIN + (i // 4) * (image.shape[0] - MARGIN) // 2
        return image[y:y + 64, x:x + 64]

    face = generator.frames(Timeline(plain, generator.z_dim).portraits._latent(first_seed)[None]).cpu().numpy()[0]
    expected = np.asarray(Image.fromarray(face).resize((64, 64), Image.Resampling.LANCZOS)).astype(int)
    assert np.array_equal(tile(pixels, 0), expected)  # the face the show makes, truncation and all
    assert np.abs(tile(again, 0) - tile(pixels, 0)).mean() > 10  # the excluded one replaced ...
    assert all(np.array_equal(tile(again, i), tile(pixels, i)) for i in range(1, 8))  # ... the rest as they were


def test_the_preview_steers_as_the_portraits_cue_does(tmp_path, generator):
    plain = portrait_sheet(load_show(_show(tmp_path)), generator, 1, 4, columns=4, tile=64)
    body = SHOW.format(extra="") + 'steer = { older = 2.0 }\n[[vector]]\nname = "older"\nplus = [1, 2]\nminus = [3, 4]\n'
    (tmp_path / "steered.toml").write_text(textwrap.dedent(body).lstrip())
    steered = portrait_sheet(load_show(tmp_path / "steered.toml"), generator, 1, 4, columns=4, tile=64)
    difference = np.abs(np.asarray(steered).astype(int) - np.asarray(plain).astype(int))
    assert difference[MARGIN:MARGIN + 64, MARGIN:MARGIN + 64].mean() > 5  # the first face, steered


def test_preview_starts_at_the_next_portrait_the_installation_will_show(tmp_path):
    path = _show(tmp_path)
    assert upcoming(load_show(path), DIM) == 1
    (tmp_path / "show.registry.json").write_text('{"version": 2, "show_seed": 7, "dim": 100, "shown": 41, '
                                                '"show_time": 120.0}')
    assert upcoming(load_show(path), DIM) == 42
    (tmp_path / "show.registry.json").write_text("[1, 2, 3]")  # unreadable: from the start, and left alone
    assert upcoming(load_show(path), DIM) == 1 and (tmp_path / "show.registry.json").read_text() == "[1, 2, 3]"


@pytest.mark.parametrize("value", ["0-3", "5-2", "a-b", "1-", "-3", "1-1001", "99999999999999999999-1", "nan"])
def test_bad_portrait_ranges_are_one_line(tmp_path, value):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "preview", str(_show(tmp_path)), "--portraits", value,
                             "-o", str(tmp_path / "s.png")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "--portraits" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s.png").exists()


def test_the_default_show_opens_on_faces_a_curator_chose(tmp_path):
    show = load_show(ROOT / "shows" / "never_existed.toml")
    assert len(show.settings.exclude) >= 5
    sequence = Timeline(show, DIM).portraits
    assert not show.settings.exclude & {sequence.seed(n) for n in range(24)}

"""Show scripts written to break things: each must get one line from ``vernissage check``.

Used by tests/test_hardening.py and benchmarks/check_hostile.py (time and memory per show).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HOLD = '[[cue]]\nkind = "hold"\nduration = 2\n'


def write_corpus(folder: Path) -> list[tuple[Path, int, str]]:
    """Write every hostile show into ``folder``; (path, line, what the error says) for each."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "seven.npy", np.arange(7, dtype=np.float32))
    np.save(folder / "nan.npy", np.full(100, np.nan))
    np.save(folder / "matrix.npy", np.ones((10, 10)))
    (folder / "pickled.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, "
                                        b"'shape': (1,), }" + b" " * 50 + b"\n" + b"\x80\x04N.")
    cases = {
        "nested_arrays": ("a = " + "[" * 5000 + "]" * 5000 + "\n" + HOLD, 1, "invalid TOML"),
        "nested_tables": ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n" + HOLD, 1, "invalid TOML"),
        "huge_caption_width": ('[[cue]]\nkind = "portraits"\ncaption = "{n:>3000000000}"\n', 3, "caption template"),
        "caption_attribute": ('[[cue]]\nkind = "portraits"\ncaption = "{n.__class__}"\n', 3, "caption template"),
        "caption_unknown_field": ('[[cue]]\nkind = "portraits"\ncaption = "{sys}"\n', 3, "unknown field"),
        "hold_nan": ('[[cue]]\nkind = "portraits"\nhold = nan\n', 3, "finite number"),
        "duration_nan": ('[[cue]]\nkind = "hold"\nduration = nan\n', 3, "finite number"),
        "duration_inf": ('[[cue]]\nkind = "hold"\nduration = inf\n', 3, "finite number"),
        "duration_huge": ('[[cue]]\nkind = "hold"\nduration = 1e300\n', 3, "at most"),
        "repeat_huge": ('[[cue]]\nkind = "hold"\nduration = 1e8\nrepeat = 1000000\n', 4, "at most"),
        "fps_tiny": ('[show]\nfps = 0.0001\n' + HOLD, 2, "'fps' must be between 1 and 240"),
        "fps_zero": ('[show]\nfps = 0\n' + HOLD, 2, "'fps' must be between 1 and 240"),
        "size_huge": ('[show]\nsize = "100000x100000"\n' + HOLD, 2, "out of range"),
        "size_zero": ('[show]\nsize = "0x0"\n' + HOLD, 2, "out of range"),
        "min_distance_huge": ('[[cue]]\nkind = "portraits"\nmin_distance = 1e9\n', 3, "'min_distance' must be at most"),
        "count_huge": ('[[cue]]\nkind = "portraits"\ncount = 9223372036854775807\n', 3, "'count' must be"),
        "seed_negative": ('[show]\nseed = -1\n' + HOLD, 2, "'seed' must be 0 or more"),
        "morph_outside": ('[[cue]]\nkind = "morph"\nfaces = ["/etc/passwd", 1]\n', 3, "each face is a seed"),
        "morph_outside_npy": ('[[cue]]\nkind = "morph"\nfaces = ["../../../../etc/x.npy", 1]\n', 3, "inside the show's folder"),
        "morph_seven_values": ('[[cue]]\nkind = "morph"\nfaces = ["seven.npy", 1]\n', 3, "has 7 values; the model takes 100"),
        "morph_nan_values": ('[[cue]]\nkind = "morph"\nfaces = ["nan.npy", 1]\n', 3, "NaN"),
        "morph_matrix": ('[[cue]]\nkind = "morph"\nfaces = ["matrix.npy", 1]\n', 3, "not one vector"),
        "morph_pickle": ('[[cue]]\nkind = "morph"\nfaces = ["pickled.npy", 1]\n', 3, "cannot be used"),
        "morph_many_faces": ('[[cue]]\nkind = "morph"\nfaces = [' + ", ".join(["1"] * 5000) + "]\n", 3, "'faces' must list"),
        "font_absolute": ('[caption]\nfont = "/usr/share/fonts/x.ttf"\n' + HOLD, 2, "inside the show's folder"),
        "font_outside": ('[caption]\nfont = "../../x.ttf"\n' + HOLD, 2, "inside the show's folder"),
        "look_nan": ('[look]\ngrain = nan\n' + HOLD, 2, "finite number"),
        "look_huge": ('[look]\nexposure = 1e300\n' + HOLD, 2, "'exposure' must be between"),
        "title_huge": ('[[cue]]\nkind = "title"\nduration = 1\ntext = "' + "x" * 100_000 + '"\n', 4, "'text' must be at most"),
        "table_not_table": ('show = 3\n' + HOLD, 1, "'show' must be a [show] table"),
        "cue_list_of_numbers": ("cue = [1, 2, 3]\n", 1, "each cue must be a [[cue]] table"),
        "binding_not_table": ('binding = [1]\n' + HOLD, 1, "binding"),
        "not_utf8": (b"\xff\xfe[show]\n", 1, "cannot read show file"),
        "huge_file": ("# " + "x" * (2 << 20) + "\n" + HOLD, 1, "over 1 MB"),
        "anchor_garbage": ('[show]\nanchor = "yesterday"\n' + HOLD, 2, "'anchor' must be an ISO date-time"),
        "tile_string": (HOLD + 'tile = "1,0"\n', 4, "'tile' must be a list"),
        "tile_negative": (HOLD + "tile = [-1, 0]\n", 4, "'tile' must be [column, row]"),
        "tile_huge": (HOLD + "tile = [0, 9223372036854775807]\n", 4, "'tile' must be [column, row]"),
        "tile_nan": (HOLD + "tile = [nan, 0]\n", 4, "'tile' must be [column, row]"),
        "tile_nested": (HOLD + "tile = [[0, 0]]\n", 4, "'tile' must be [column, row]"),
        "tile_empty": (HOLD + "tile = []\n", 4, "'tile' must be [column, row]"),
        "tile_bool": (HOLD + "tile = [true, 0]\n", 4, "'tile' must be [column, row]"),
        "tiles_unequal": (HOLD + "tile = [0, 0]\n" + HOLD + "tile = [1, 0]\n" + HOLD + "tile = [1, 0]\n", 9,
                          "every screen's cues must last alike"),
        "tile_endless_first": ('[[cue]]\nkind = "wander"\ntile = [0, 0]\n' + HOLD + "tile = [0, 0]\n", 1,
                               "endless 'wander' cue can only be the last cue of tile 0,0"),
    }
    written = []
    for name, (body, line, message) in cases.items():
        path = folder / f"{name}.toml"
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
        written.append((path, line, message))
    return written

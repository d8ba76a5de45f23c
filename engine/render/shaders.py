"""Loading the GLSL files in ``shaders/``, with a minimal ``#include "file"`` for shared code."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import moderngl

SHADER_DIR = Path(__file__).parent / "shaders"
_INCLUDE = re.compile(r'^#include "([\w.]+)"$', re.MULTILINE)


@cache
def shader_source(name: str) -> str:
    """The text of ``shaders/name`` with its includes expanded (one level is all we need)."""
    text = (SHADER_DIR / name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: (SHADER_DIR / m.group(1)).read_text(encoding="utf-8"), text)


def with_defines(source: str, defines: dict[str, int]) -> str:
    """``source`` with ``#define NAME value`` lines inserted after its ``#version`` line.

    Compile-time constants let the driver unroll loops: on llvmpipe a loop with a uniform
    bound costs twice as much as the same loop with a constant one.
    """
    version, _, rest = source.partition("\n")
    lines = "".join(f"#define {k} {v}\n" for k, v in defines.items())
    return f"{version}\n{lines}{rest}"


def shader_pass(ctx: moderngl.Context, fragment: str, defines: dict[str, int] | None = None,
                vertex: str = "fullscreen.vert") -> tuple[moderngl.Program, moderngl.VertexArray]:
    """A program drawing ``fragment`` (over the whole viewport, by default), and its
    attribute-less VAO: the vertex shaders make their corners from gl_VertexID."""
    program = ctx.program(vertex_shader=shader_source(vertex),
                          fragment_shader=with_defines(shader_source(fragment), defines or {}))
    return program, ctx.vertex_array(program, [])

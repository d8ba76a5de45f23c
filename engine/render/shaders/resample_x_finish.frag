#version 330 core
// Pass 2: resample rows horizontally to the output width, then the look (grade, vignette,
// grain), with the background in the letterbox. Taps of one pixel are neighbours in one
// row of the strip, which keeps a software rasteriser's caches warm.
uniform sampler2D u_strip;     // output of pass 1: source width x output height, RGBA8
uniform vec3 u_background;
uniform bool u_flip;           // true when drawing to a window (GL's row 0 is the bottom)
out vec4 color;
int row;
vec4 fetch(int i) { return texelFetch(u_strip, ivec2(i, row), 0); }
#include "resample.glsl"
#include "look.glsl"
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (u_flip) p.y = int(u_size.y) - 1 - p.y;
    row = p.y;
    vec4 c = resample(p.x);
    vec3 rgb = clamp(c.rgb + (1.0 - c.a) * u_background, 0.0, 1.0);
    color = vec4(apply_look(rgb, p), 1.0);
}

#version 330 core
// Pass 2: resample the strip's rows horizontally to the detail width. The result is the
// whole image at detail size (at most RenderSettings.detail pixels a side), row 0 = top.
uniform sampler2D u_strip;     // output of pass 1: source width x detail height, RGBA8
out vec4 color;
int row;
vec4 fetch(int i) { return texelFetch(u_strip, ivec2(i, row), 0); }
#include "resample.glsl"
void main() {
    row = int(gl_FragCoord.y);
    color = vec4(resample(int(gl_FragCoord.x)).rgb, 1.0);
}

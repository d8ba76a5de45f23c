#version 330 core
// Pass 1: resample each source column vertically to the output height (a strip of
// source width x output height, small). Alpha is 1 in image rows, 0 in letterbox rows.
uniform sampler2D u_source;   // the generated frame, row 0 = top
out vec4 color;
int column;
vec4 fetch(int i) { return vec4(texelFetch(u_source, ivec2(column, i), 0).rgb, 1.0); }
#include "resample.glsl"
void main() {
    column = int(gl_FragCoord.x);
    // Lanczos rings slightly past 0..1; the 8-bit strip clamps, as PIL's resampler does.
    color = resample(int(gl_FragCoord.y));
}

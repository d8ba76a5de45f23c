#version 330 core
// Pass 1: resample each source column vertically to the detail height (a strip of source
// width x detail height, small). With BLEND, the source is a mix of two generated frames:
// how a slow generator still moves smoothly at the display's rate.
uniform sampler2D u_source;   // the generated frame, row 0 = top
#if BLEND
uniform sampler2D u_source_b; // the next generated frame
uniform float u_mix;          // 0 = u_source, 1 = u_source_b
#endif
out vec4 color;
int column;
vec4 fetch(int i) {
    vec3 a = texelFetch(u_source, ivec2(column, i), 0).rgb;
#if BLEND
    a = mix(a, texelFetch(u_source_b, ivec2(column, i), 0).rgb, u_mix);
#endif
    return vec4(a, 1.0);
}
#include "resample.glsl"
void main() {
    column = int(gl_FragCoord.x);
    // Lanczos rings slightly past 0..1; the 8-bit strip clamps, as PIL's resampler does.
    color = resample(int(gl_FragCoord.y));
}

#version 330 core
// Pass 2: resample rows horizontally to the output width, then the look (grade, vignette,
// grain), with the background in the letterbox. Taps of one pixel are neighbours in one
// row of the strip, which keeps a software rasteriser's caches warm.
uniform sampler2D u_strip;     // output of pass 1: source width x output height, RGBA8
uniform vec3 u_background;
uniform bool u_flip;           // true when drawing to a window (GL's row 0 is the bottom)
uniform vec3 u_fade_color;     // fades, blackouts and title-card backgrounds
uniform float u_fade;          // 0 = the image, 1 = all u_fade_color
#if OVERLAY
uniform sampler2D u_overlay;   // captions and titles, RGBA at output size, row 0 = top
uniform float u_overlay_opacity;
#endif
out vec4 color;
int row;
vec4 fetch(int i) { return texelFetch(u_strip, ivec2(i, row), 0); }
#include "resample.glsl"
#include "look.glsl"
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (u_flip) p.y = int(u_size.y) - 1 - p.y;
    row = p.y;
    vec4 resampled = resample(p.x);
    vec3 rgb = clamp(resampled.rgb + (1.0 - resampled.a) * u_background, 0.0, 1.0);
    vec3 c = mix(apply_look(rgb, p), u_fade_color, u_fade);
#if OVERLAY
    vec4 text = texelFetch(u_overlay, p, 0);
    c = mix(c, text.rgb, text.a * u_overlay_opacity);
#endif
    color = vec4(c, 1.0);
}

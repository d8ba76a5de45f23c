#version 330 core
// Pass 3: the detail image at output size, with the look. The detail image is already
// smooth at this scale (Lanczos-resampled by passes 1-2), so a bilinear fetch is all the
// last step needs. Kept this small on purpose: on a software rasteriser every extra
// operation here is paid two million times a frame.
uniform sampler2D u_image;     // output of pass 2, linear filtering, clamped at the edges
in vec2 v_uv;
in vec2 v_pixel;
out vec4 color;
#include "look.glsl"
void main() {
    color = vec4(apply_look(texture(u_image, v_uv).rgb, ivec2(v_pixel)), 1.0);
}

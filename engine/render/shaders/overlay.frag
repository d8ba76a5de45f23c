#version 330 core
// Straight-alpha RGBA texels blended over the frame (blend state set by the caller).
uniform sampler2D u_overlay;   // row 0 = top
uniform float u_opacity;
in vec2 v_texel;
out vec4 color;
void main() {
    vec4 t = texelFetch(u_overlay, ivec2(v_texel), 0);
    color = vec4(t.rgb, t.a * u_opacity);
}

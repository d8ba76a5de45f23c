#version 330 core
// A rectangle of the output (pixels, row 0 = top), for text and the stats display.
uniform vec4 u_rect;           // x, y, width, height in output pixels
uniform vec2 u_size;           // output size in pixels
uniform bool u_flip;           // true when drawing to a window (GL's row 0 is the bottom)
out vec2 v_texel;
const vec2 corners[4] = vec2[4](vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0), vec2(1.0, 1.0));
void main() {
    vec2 c = corners[gl_VertexID];
    v_texel = c * u_rect.zw;
    vec2 p = (u_rect.xy + v_texel) / u_size;
    if (u_flip) p.y = 1.0 - p.y;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}

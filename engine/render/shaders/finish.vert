#version 330 core
// The image's rectangle in the output: pass 3 shades only the pixels the image covers
// (the letterbox is a clear). Output pixel coordinates run top-down, like the source.
// On a video wall the coordinates are the whole canvas's; this output draws its tile of it.
uniform vec4 u_rect;           // x, y, width, height of the image in canvas pixels
uniform vec2 u_origin;         // this output's top-left on the canvas (0, 0 on one screen)
uniform vec2 u_tile;           // this output's size in pixels
uniform bool u_flip;           // true when drawing to a window (GL's row 0 is the bottom)
out vec2 v_uv;                 // 0..1 across the detail image, row 0 = top
out vec2 v_pixel;              // canvas pixel coordinates, row 0 = top (the look's grain and vignette)
const vec2 corners[4] = vec2[4](vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0), vec2(1.0, 1.0));
void main() {
    v_uv = corners[gl_VertexID];
    v_pixel = u_rect.xy + v_uv * u_rect.zw;
    vec2 p = (v_pixel - u_origin) / u_tile;
    if (u_flip) p.y = 1.0 - p.y;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}

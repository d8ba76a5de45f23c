#version 330 core
// RGB -> planar YUV 4:2:0 (BT.709, limited range), laid out as FFmpeg's yuv420p in memory:
// a WIDTH x HEIGHT Y plane, then the U and the V plane (WIDTH/2 x HEIGHT/2 each), two chroma
// rows packed into each WIDTH-wide row. Each fragment writes four consecutive bytes (RGBA8,
// WIDTH/4 fragments a row): a quarter of the fragments, which is what a software
// rasterizer pays for. Reading the target back gives the encoder its input directly.
// Defines: WIDTH (divisible by 8), HEIGHT (divisible by 4), FLIP (1 when the source's row 0
// is the bottom). u_rgb must sample bilinearly: one fetch at a 2x2 block's centre is its mean.
uniform sampler2D u_rgb;
out vec4 f_bytes;

const vec3 LUMA = vec3(0.2126, 0.7152, 0.0722);
const vec2 TEXEL = 1.0 / vec2(WIDTH, HEIGHT);

float texture_row(float y) {  // y counts from the top of the picture
    return FLIP == 1 ? float(HEIGHT) - y : y;
}

float luma_at(int x, int y) {
    return (16.0 + 219.0 * dot(LUMA, texelFetch(u_rgb, ivec2(x, FLIP == 1 ? HEIGHT - 1 - y : y), 0).rgb)) / 255.0;
}

float chroma_at(int cx, int cy, bool is_v) {
    vec3 rgb = textureLod(u_rgb, vec2(2 * cx + 1, texture_row(float(2 * cy + 1))) * TEXEL, 0.0).rgb;
    float luma = dot(LUMA, rgb);
    float chroma = is_v ? (rgb.r - luma) / 1.5748 : (rgb.b - luma) / 1.8556;
    return (128.0 + 224.0 * chroma) / 255.0;
}

void main() {
    ivec2 at = ivec2(gl_FragCoord.xy);
    int x = 4 * at.x;  // memory column of the first byte
    if (at.y < HEIGHT) {
        f_bytes = vec4(luma_at(x, at.y), luma_at(x + 1, at.y), luma_at(x + 2, at.y), luma_at(x + 3, at.y));
        return;
    }
    int row = at.y - HEIGHT;
    bool is_v = row >= HEIGHT / 4;
    row -= is_v ? HEIGHT / 4 : 0;
    int cy = 2 * row + (x >= WIDTH / 2 ? 1 : 0);
    int cx = x % (WIDTH / 2);
    f_bytes = vec4(chroma_at(cx, cy, is_v), chroma_at(cx + 1, cy, is_v),
                   chroma_at(cx + 2, cy, is_v), chroma_at(cx + 3, cy, is_v));
}

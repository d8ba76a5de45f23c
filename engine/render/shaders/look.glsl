// The final look: colour grade, vignette, film grain, brightness and fade (blackout).
// GRADE, VIGNETTE, GRAIN and TINT (brightness or fade) are compile-time switches
// (engine/render/renderer.py keeps one program per combination): a neutral look then costs
// nothing, where on a software rasteriser each stage costs 1-3 ms a 1080p frame. Without
// TINT the 8-bit framebuffer does the final clamp to 0..1.
uniform vec2 u_size;           // canvas size in pixels (the output's, or a whole video wall's)
#if TINT
uniform float u_brightness;    // multiplier applied after the grade (0 = black)
uniform vec3 u_fade_color;     // fades, blackouts and title-card backgrounds
uniform float u_fade;          // 0 = the image, 1 = all u_fade_color
#endif
#if GRADE
uniform float u_exposure;      // stops; 0 = unchanged
uniform float u_contrast;      // 1 = unchanged
uniform float u_saturation;    // 1 = unchanged, 0 = grey
#endif
#if VIGNETTE
uniform float u_vignette;      // 0 = none, 1 = strong darkening of the corners
#endif
#if GRAIN
uniform float u_grain;         // standard deviation of the grain (1.0 = full range)
uniform uint u_grain_seed;     // fixed per frame: grain is deterministic, run to run

// Integer hash: exact, so the grain is bit-identical on every run on the same machine.
uint hash(uint x) {
    x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
    return x;
}

float gaussian_noise(uvec2 p, uint seed) {
    uint h1 = hash(p.x + hash(p.y + hash(seed)));
    uint h2 = hash(h1 ^ 0x9e3779b9u);
    float u1 = (float(h1 >> 8) + 1.0) / 16777217.0;
    float u2 = float(h2 >> 8) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.28318530718 * u2);
}
#endif

vec3 apply_look(vec3 c, ivec2 p) {
#if GRADE
    c *= exp2(u_exposure);
    c = (c - 0.5) * u_contrast + 0.5;
    float luma = dot(c, vec3(0.2126, 0.7152, 0.0722));
    c = mix(vec3(luma), c, u_saturation);
#endif
#if VIGNETTE
    vec2 q = (vec2(p) + 0.5) / u_size - 0.5;
    q.x *= u_size.x / u_size.y;
    c *= 1.0 - u_vignette * smoothstep(0.35, 1.0, length(q) * 1.25);
#endif
#if GRAIN
    c += u_grain * gaussian_noise(uvec2(p), u_grain_seed);
#endif
#if TINT
    c = mix(clamp(c * u_brightness, 0.0, 1.0), u_fade_color, u_fade);
#endif
    return c;
}

#version 330 core
// Edge-adaptive upscale (the idea of AMD FSR 1's EASU, written here from its description): the
// source at detail size in one pass. Around each output pixel, twelve source texels (the 2x2
// quad it falls in and the eight nearest outside it) are weighted by a Lanczos-2-shaped kernel
// that is stretched along the local edge and narrowed across it, so edges stay crisp instead
// of staircasing, and flat or noisy areas get a plain round kernel. The result is clamped to
// the quad's range, so no halo rings past an edge. With BLEND, two generated frames are mixed
// first, as in the separable passes.
uniform sampler2D u_source;    // the generated frame, row 0 = top
#if BLEND
uniform sampler2D u_source_b;
uniform float u_mix;
#endif
uniform vec2 u_src_size;       // source pixels
uniform vec2 u_dst_size;       // detail pixels
out vec4 color;

vec3 tap(ivec2 p) {
    ivec2 q = clamp(p, ivec2(0), ivec2(u_src_size) - 1);
    vec3 c = texelFetch(u_source, q, 0).rgb;
#if BLEND
    c = mix(c, texelFetch(u_source_b, q, 0).rgb, u_mix);
#endif
    return c;
}

float luma(vec3 c) { return dot(c, vec3(0.5, 1.0, 0.5)); }  // cheap: edges only need ordering

// Edge direction and strength at one quad texel from its cross of neighbours, weighted by how
// much of the output pixel's bilinear footprint that texel has. A clean ramp scores 1, a lone
// peak 0 (its gradient is noise, not an edge).
void accumulate(inout vec2 dir, inout float len, float w, float up, float left, float c, float right, float down) {
    float dx = right - left;
    float ex = abs(dx) / max(max(abs(right - c), abs(c - left)), 1.0 / 32768.0);
    float dy = down - up;
    float ey = abs(dy) / max(max(abs(down - c), abs(c - up)), 1.0 / 32768.0);
    dir += vec2(dx, dy) * w;
    len += (clamp(ex, 0.0, 1.0) * clamp(ex, 0.0, 1.0) + clamp(ey, 0.0, 1.0) * clamp(ey, 0.0, 1.0)) * 0.5 * w;
}

// Lanczos-2 approximated by polynomials (no sin): d2 the squared distance, lobe the negative
// lobe's strength (0.5 round, toward 0.21 along strong edges).
float kernel(float d2, float lobe) {
    float b = 0.4 * d2 - 1.0;
    float a = lobe * d2 - 1.0;
    return (1.5625 * b * b - 0.5625) * (a * a);
}

void main() {
    vec2 pp = (gl_FragCoord.xy) * (u_src_size / u_dst_size) - 0.5;  // source coordinates
    ivec2 f0 = ivec2(floor(pp));
    vec2 t = pp - vec2(f0);
    //        b c
    //      e f g h
    //      i j k l
    //        n o
    vec3 b = tap(f0 + ivec2(0, -1)), c = tap(f0 + ivec2(1, -1));
    vec3 e = tap(f0 + ivec2(-1, 0)), f = tap(f0), g = tap(f0 + ivec2(1, 0)), h = tap(f0 + ivec2(2, 0));
    vec3 i = tap(f0 + ivec2(-1, 1)), j = tap(f0 + ivec2(0, 1)), k = tap(f0 + ivec2(1, 1)), l = tap(f0 + ivec2(2, 1));
    vec3 n = tap(f0 + ivec2(0, 2)), o = tap(f0 + ivec2(1, 2));
    float lb = luma(b), lc = luma(c), le = luma(e), lf = luma(f), lg = luma(g), lh = luma(h);
    float li = luma(i), lj = luma(j), lk = luma(k), ll = luma(l), ln = luma(n), lo = luma(o);
    vec2 dir = vec2(0.0);
    float len = 0.0;
    accumulate(dir, len, (1.0 - t.x) * (1.0 - t.y), lb, le, lf, lg, lj);
    accumulate(dir, len, t.x * (1.0 - t.y), lc, lf, lg, lh, lk);
    accumulate(dir, len, (1.0 - t.x) * t.y, lf, li, lj, lk, ln);
    accumulate(dir, len, t.x * t.y, lg, lj, lk, ll, lo);
    float d2 = dot(dir, dir);
    dir = d2 < 1.0 / 65536.0 ? vec2(1.0, 0.0) : dir * inversesqrt(d2);
    len *= len;
    // Across the edge (along the gradient) distances grow, more on diagonals where the square
    // grid is coarsest: the kernel narrows; along the edge they shrink: it stretches.
    float stretch = 1.0 / max(dir.x * dir.x, dir.y * dir.y);
    vec2 scale = vec2(1.0 + (stretch - 1.0) * len, 1.0 - 0.5 * len);
    float lobe = 0.5 + (0.21 - 0.5) * len;
    float clip = 1.0 / lobe;
    vec3 sum = vec3(0.0);
    float weights = 0.0;
    vec2 offsets[12] = vec2[12](vec2(0, -1), vec2(1, -1), vec2(-1, 0), vec2(0, 0), vec2(1, 0), vec2(2, 0),
                                vec2(-1, 1), vec2(0, 1), vec2(1, 1), vec2(2, 1), vec2(0, 2), vec2(1, 2));
    vec3 colors[12] = vec3[12](b, c, e, f, g, h, i, j, k, l, n, o);
    for (int q = 0; q < 12; ++q) {
        vec2 v = offsets[q] - t;
        vec2 r = vec2(dot(v, dir), dot(v, vec2(-dir.y, dir.x))) * scale;  // across the edge, along it
        float w = kernel(min(dot(r, r), clip), lobe);
        sum += colors[q] * w;
        weights += w;
    }
    vec3 low = min(min(f, g), min(j, k));
    vec3 high = max(max(f, g), max(j, k));
    color = vec4(clamp(sum / weights, low, high), 1.0);
}

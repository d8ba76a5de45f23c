// Shared by the two separable resampling passes. Weights come precomputed per output pixel
// (engine/render/kernels.py), packed four to an RGBA32F texel: texel row p holds
// [first source index, w0, w1, w2 | w3, w4, w5, w6 | ...]. TAPS and WEIGHT_TEXELS are
// compile-time constants (see shaders.with_defines) so the loops unroll into plain
// fetches and multiply-adds.
// Framebuffer row 0 is the image's top row in offscreen passes: a read-back needs no flip.
uniform sampler2D u_weights;
uniform int u_src_size;        // source pixels along this axis

// Resample along one axis at output pixel p; fetch(i) (from the includer) reads source
// pixel i.
vec4 resample(int p) {
    vec4 head = texelFetch(u_weights, ivec2(0, p), 0);
    int first = int(head.r);
    int last = u_src_size - 1;
    vec4 c = head.g * fetch(clamp(first, 0, last))
           + head.b * fetch(clamp(first + 1, 0, last))
           + head.a * fetch(clamp(first + 2, 0, last));
    for (int t = 1; t < WEIGHT_TEXELS; ++t) {
        vec4 w = texelFetch(u_weights, ivec2(t, p), 0);
        int i = first + 4 * t - 1;
        c += w.r * fetch(clamp(i, 0, last));
        if (4 * t + 1 <= TAPS) c += w.g * fetch(clamp(i + 1, 0, last));
        if (4 * t + 2 <= TAPS) c += w.b * fetch(clamp(i + 2, 0, last));
        if (4 * t + 3 <= TAPS) c += w.a * fetch(clamp(i + 3, 0, last));
    }
    return c;
}

#version 330 core
// Robust contrast-adaptive sharpening (the idea of AMD FSR 1's RCAS, written from its
// description), after the edge-adaptive upscale: each pixel is pushed away from its four
// neighbours by the largest amount that cannot clip any channel below 0 or above 1, times
// u_sharpness, and never more than a fixed limit, so it sharpens detail without halos or noise
// blow-up on flat areas.
uniform sampler2D u_image;     // the upscaled image, row 0 = top
uniform float u_sharpness;     // 0 = none, 1 = the most the limit allows
out vec4 color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 last = textureSize(u_image, 0) - 1;
    vec3 c = texelFetch(u_image, p, 0).rgb;
    vec3 n = texelFetch(u_image, clamp(p + ivec2(0, -1), ivec2(0), last), 0).rgb;
    vec3 w = texelFetch(u_image, clamp(p + ivec2(-1, 0), ivec2(0), last), 0).rgb;
    vec3 e = texelFetch(u_image, clamp(p + ivec2(1, 0), ivec2(0), last), 0).rgb;
    vec3 s = texelFetch(u_image, clamp(p + ivec2(0, 1), ivec2(0), last), 0).rgb;
    vec3 low = min(min(n, w), min(e, s));
    vec3 high = max(max(n, w), max(e, s));
    // the negative lobe at which the result would just reach 0 (from the lowest neighbour) or
    // 1 (from the highest): the largest that clips nothing
    vec3 to_black = low / max(4.0 * high, 1.0 / 1024.0);
    vec3 to_white = (1.0 - high) / min(4.0 * low - 4.0, -1.0 / 1024.0);
    vec3 room = max(-to_black, to_white);
    float lobe = max(-0.1875, min(max(room.r, max(room.g, room.b)), 0.0)) * u_sharpness;
    color = vec4(clamp((lobe * (n + w + e + s) + c) / (4.0 * lobe + 1.0), 0.0, 1.0), 1.0);
}

// Winograd F(2, 3) row transforms (see Convolution+Winograd.swift in NNUNetCore for the algorithm and its checks).
#include "CNNUNetKernels.h"

#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define NNUNET_CLONES __attribute__((target_clones("arch=x86-64-v4,arch=x86-64-v3,default")))
#else
#define NNUNET_CLONES
#endif

// One line of the scratch: 2 · tiles_x + 2 inputs (x from -1 to 2 · tiles_x), rounded up.
static ptrdiff_t line_stride(ptrdiff_t tiles_x) { return 2 * tiles_x + 4; }

ptrdiff_t nnunet_winograd_scratch_count(ptrdiff_t tiles_x) { return 17 * line_stride(tiles_x); }

// (a, b, c, d) <- Bᵀ (a, b, c, d) = (a - c, b + c, c - b, b - d), element-wise over n values, in place.
static inline void input_step(float *restrict a, float *restrict b, float *restrict c, float *restrict d,
                              ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float va = a[i], vb = b[i], vc = c[i], vd = d[i];
        a[i] = va - vc;
        b[i] = vb + vc;
        c[i] = vc - vb;
        d[i] = vb - vd;
    }
}

NNUNET_CLONES
void nnunet_winograd_input_row(const float *plane, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width,
                               ptrdiff_t tz, ptrdiff_t ty, ptrdiff_t depth_alpha, ptrdiff_t tiles_x,
                               float *scratch, float *destination, ptrdiff_t position_stride) {
    const ptrdiff_t stride = line_stride(tiles_x), half = tiles_x + 1, length = 2 * half;
    const ptrdiff_t z0 = depth_alpha == 4 ? 2 * tz - 1 : tz;
    // Lines split by parity: line[i] = x(2i - 1) and line[half + i] = x(2i) for i <= tiles_x, zero outside the
    // volume. The z and y steps are element-wise, so they work on the split lines unchanged.
    const ptrdiff_t pairs = (width - 1) / 2;  // i in 1...pairs has both x(2i - 1) and x(2i) inside the line
    for (ptrdiff_t dz = 0; dz < depth_alpha; dz++) {
        const ptrdiff_t iz = z0 + dz;
        for (ptrdiff_t dy = 0; dy < 4; dy++) {
            const ptrdiff_t iy = 2 * ty - 1 + dy;
            float *restrict even = scratch + (dz * 4 + dy) * stride;
            float *restrict odd = even + half;
            if (iz < 0 || iz >= depth || iy < 0 || iy >= height) {
                memset(even, 0, (size_t)length * sizeof(float));
                continue;
            }
            const float *restrict source = plane + (iz * height + iy) * width;
            even[0] = 0;
            odd[0] = source[0];
            for (ptrdiff_t i = 1; i <= pairs; i++) {
                even[i] = source[2 * i - 1];
                odd[i] = source[2 * i];
            }
            for (ptrdiff_t i = pairs + 1; i < half; i++) {
                even[i] = 2 * i - 1 < width ? source[2 * i - 1] : 0;
                odd[i] = 0;
            }
        }
    }
    // z, then y, in place on whole lines.
    if (depth_alpha == 4) {
        for (ptrdiff_t dy = 0; dy < 4; dy++) {
            input_step(scratch + dy * stride, scratch + (4 + dy) * stride, scratch + (8 + dy) * stride,
                       scratch + (12 + dy) * stride, length);
        }
    }
    for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) {
        float *base = scratch + pz * 4 * stride;
        input_step(base, base + stride, base + 2 * stride, base + 3 * stride, length);
    }
    // x: tile t reads (x(2t - 1), x(2t), x(2t + 1), x(2t + 2)) = (even[t], odd[t], even[t + 1], odd[t + 1]).
    for (ptrdiff_t line_index = 0; line_index < depth_alpha * 4; line_index++) {
        const float *restrict even = scratch + line_index * stride;
        const float *restrict odd = even + half;
        float *restrict o0 = destination + (line_index * 4) * position_stride;
        float *restrict o1 = o0 + position_stride;
        float *restrict o2 = o1 + position_stride;
        float *restrict o3 = o2 + position_stride;
        for (ptrdiff_t t = 0; t < tiles_x; t++) {
            float a = even[t], b = odd[t], c = even[t + 1], d = odd[t + 1];
            o0[t] = a - c;
            o1[t] = b + c;
            o2[t] = c - b;
            o3[t] = b - d;
        }
    }
}

NNUNET_CLONES
void nnunet_winograd_output_row(const float *products, ptrdiff_t position_stride, float bias, ptrdiff_t depth,
                                ptrdiff_t height, ptrdiff_t width, ptrdiff_t tz, ptrdiff_t ty, ptrdiff_t depth_alpha,
                                 ptrdiff_t tiles_x, float *scratch, float *plane) {
    const ptrdiff_t stride = line_stride(tiles_x), length = 2 * tiles_x;
    // x: line (pz, py) holds the even outputs x = 2t at [t] and the odd ones x = 2t + 1 at [tiles_x + t].
    for (ptrdiff_t line_index = 0; line_index < depth_alpha * 4; line_index++) {
        const float *restrict m0 = products + (line_index * 4) * position_stride;
        const float *restrict m1 = m0 + position_stride;
        const float *restrict m2 = m1 + position_stride;
        const float *restrict m3 = m2 + position_stride;
        float *restrict even = scratch + line_index * stride;
        float *restrict odd = even + tiles_x;
        for (ptrdiff_t t = 0; t < tiles_x; t++) {
            float a = m0[t], b = m1[t], c = m2[t], d = m3[t];
            even[t] = a + b + c;
            odd[t] = b - c - d;
        }
    }
    // y, in place: lines (pz, 0) and (pz, 1) become the outputs oy = 0 and 1.
    for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) {
        float *restrict l0 = scratch + (pz * 4) * stride;
        float *restrict l1 = l0 + stride;
        const float *restrict l2 = l1 + stride;
        const float *restrict l3 = l2 + stride;
        for (ptrdiff_t i = 0; i < length; i++) {
            float a = l0[i], b = l1[i], c = l2[i], d = l3[i];
            l0[i] = a + b + c;
            l1[i] = b - c - d;
        }
    }
    // z (depth alpha 4): oz = 0 from pz 0, 1, 2, oz = 1 from pz 1, 2, 3, into line (0, oy); then interleaved out.
    const ptrdiff_t depth_outputs = depth_alpha == 4 ? 2 : 1, pairs = width / 2;
    for (ptrdiff_t oz = 0; oz < depth_outputs; oz++) {
        const ptrdiff_t z = tz * depth_outputs + oz;
        if (z >= depth) break;
        for (ptrdiff_t oy = 0; oy < 2; oy++) {
            const ptrdiff_t y = 2 * ty + oy;
            if (y >= height) break;
            float *restrict out = plane + (z * height + y) * width;
            const float *restrict result = scratch + oy * stride;
            if (depth_alpha == 4) {
                const float *restrict a = scratch + oy * stride;
                const float *restrict b = scratch + (4 + oy) * stride;
                const float *restrict c = scratch + (8 + oy) * stride;
                const float *restrict d = scratch + (12 + oy) * stride;
                float *restrict sum = scratch + 16 * stride;
                if (oz == 0) {
                    for (ptrdiff_t i = 0; i < length; i++) sum[i] = a[i] + b[i] + c[i];
                } else {
                    for (ptrdiff_t i = 0; i < length; i++) sum[i] = b[i] - c[i] - d[i];
                }
                result = sum;
            }
            const float *restrict even = result, *restrict odd = result + tiles_x;
            for (ptrdiff_t t = 0; t < pairs; t++) {
                out[2 * t] = even[t] + bias;
                out[2 * t + 1] = odd[t] + bias;
            }
            if (width % 2 == 1) out[width - 1] = even[pairs] + bias;
        }
    }
}

// Runs every CNNUNetKernels function on fixed pseudo-random data and prints the results exactly (%a), so that the
// builds for AVX-512, AVX2 and the baseline (the three target_clones versions) can be compared bit for bit.
#include <stdio.h>
#include <stdlib.h>
#include "CNNUNetKernels.h"
static float rnd(unsigned *s) { *s = *s * 1103515245u + 12345u; return ((*s >> 8) & 0xffff) / 32768.0f - 1.0f; }
int main(void) {
    unsigned seed = 7;
    const ptrdiff_t d = 5, h = 7, w = 9, ty = 4, tx = 5;
    float plane[5 * 7 * 9], grad[5 * 7 * 9];
    for (int i = 0; i < d * h * w; i++) { plane[i] = rnd(&seed); grad[i] = rnd(&seed); }
    ptrdiff_t sc = nnunet_winograd_scratch_count(5 * ty, tx);
    float *scratch = calloc(sc, sizeof(float));
    // Positions as the Swift callers lay them out (columns rounded up to whole vectors of 16, plus 16), for the
    // most rows used below (5 · ty).
    const ptrdiff_t most = (5 * ty * (tx + 1) + 15) / 16 * 16 + 16;
    float *v = calloc(96 * most, sizeof(float)), *g = calloc(64 * most, sizeof(float));
    float out[5 * 7 * 9] = {0};
    float weight[2 * 3 * 27], u[96 * 6], gw[2 * 3 * 27];
    for (int i = 0; i < 2 * 3 * 27; i++) weight[i] = rnd(&seed);
    // Depth alpha 1 (kernel depth 1), 4 (F(2, 3) along z) and 6 (F(4, 3) along z; no gradient block).
    const ptrdiff_t alphas[3] = {1, 4, 6};
    for (int a = 0; a < 3; a++) {
        const ptrdiff_t alpha = alphas[a];
        ptrdiff_t rz = alpha == 6 ? 2 : alpha == 4 ? 3 : 5, rr = rz * ty, cc = rr * (tx + 1);
        ptrdiff_t cols = (cc + 15) / 16 * 16 + 16;
        nnunet_winograd_input_block(plane, grad, d, h, w, 0, rr, ty, alpha, tx, scratch, v, cols);
        nnunet_winograd_output_block(v, cols, 0.25f, d, h, w, 0, rr, ty, alpha, tx, scratch, out);
        if (alpha < 6) nnunet_winograd_gradient_block(grad, d, h, w, 0, rr, ty, alpha, tx, scratch, g, cols);
        for (ptrdiff_t p = 0; p < alpha * 16; p++)
            for (ptrdiff_t c = 0; c < cc; c++)
                if (c % (tx + 1) != tx) printf("%a %a\n", v[p * cols + c], alpha < 6 ? g[p * cols + c] : 0.0f);
        for (int i = 0; i < d * h * w; i++) printf("%a\n", out[i]);
        ptrdiff_t kd = alpha == 1 ? 1 : 3;
        nnunet_winograd_weights(weight, 0, 2, 3, 3 * kd * 9, kd * 9, kd, alpha, 0, 6, u);
        for (int i = 0; i < alpha * 16 * 6; i++) printf("%a\n", u[i]);
        if (alpha < 6) {
            nnunet_winograd_weight_gradient(u, 0, 2, 3, kd, 6, gw);
            for (int i = 0; i < 6 * kd * 9; i++) printf("%a\n", gw[i]);
        }
    }
    // The gather of one channel: a stride-2 forward (source step 2) and its input gradient (destination step 2),
    // each 3×3×3 with padding 1, between the 5×7×9 plane and a 3×4×5 grid, for destination rows 2 ..< 9.
    for (int transposed = 0; transposed <= 1; transposed++) {
        const ptrdiff_t small[3] = {3, 4, 5}, large[3] = {d, h, w};
        const ptrdiff_t *src = transposed ? small : large, *dst = transposed ? large : small;
        int32_t tz[3 * 7], ty[3 * 7];
        ptrdiff_t runs[15];
        for (ptrdiff_t axis = 0; axis < 3; axis++) {
            for (ptrdiff_t k = 0; k < 3; k++) {
                ptrdiff_t first = -1, second = -1, count = 0;
                for (ptrdiff_t i = 0; i < dst[axis]; i++) {
                    // forward: source 2i - 1 + k; input gradient: output (i + 1 - k) / 2 where exact
                    ptrdiff_t s = transposed ? ((i + 1 - k) % 2 == 0 ? (i + 1 - k) / 2 : -1) : 2 * i - 1 + k;
                    if (s < 0 || s >= src[axis]) s = -1;
                    if (axis == 0) tz[k * dst[0] + i] = (int32_t)s;
                    if (axis == 1) ty[k * dst[1] + i] = (int32_t)s;
                    if (axis == 2 && s >= 0) {
                        if (count == 0) first = i;
                        if (count == 1) second = i;
                        count++;
                    }
                }
                if (axis == 2) {
                    ptrdiff_t s0 = transposed ? (first + 1 - k) / 2 : 2 * first - 1 + k;
                    runs[5 * k] = count ? first : 0;
                    runs[5 * k + 1] = count;
                    runs[5 * k + 2] = count ? s0 : 0;
                    runs[5 * k + 3] = count > 1 ? second - first : 1;
                    runs[5 * k + 4] = transposed ? 1 : 2;
                }
            }
        }
        const ptrdiff_t rows = 7, length = rows * dst[2];
        float *columns = calloc(27 * length, sizeof(float));
        nnunet_gather_channel(transposed ? grad : plane, src[1], src[2], tz, ty, dst[0], dst[1], dst[2], 3, 3, 3,
                              runs, 2, rows, columns, length);
        for (ptrdiff_t i = 0; i < 27 * length; i++) printf("%a\n", columns[i]);
        free(columns);
    }
    // Instance normalisation: moments, scale and shift with and without leaky ReLU, backward, on 315 values (not a
    // multiple of the 32 partial sums).
    double mean, m2, sum_g, sum_gx;
    nnunet_plane_moments(plane, d * h * w, &mean, &m2);
    printf("%a %a\n", mean, m2);
    float y[5 * 7 * 9], dx[5 * 7 * 9];
    for (int leaky = 0; leaky <= 1; leaky++) {
        nnunet_scale_shift(plane, y, d * h * w, 1.75f, -0.125f, leaky, 0.01f);
        for (int i = 0; i < d * h * w; i++) printf("%a\n", y[i]);
    }
    // Without and with a leaky ReLU after the normalisation (y, the last scale_shift's output, as its output).
    for (int leaky = 0; leaky <= 1; leaky++) {
        nnunet_instance_norm_backward_plane(grad, leaky ? y : NULL, 0.01f, plane, dx, d * h * w, (float)mean, 1.5f,
                                            0.75f, &sum_g, &sum_gx);
        printf("%a %a\n", sum_g, sum_gx);
        for (int i = 0; i < d * h * w; i++) printf("%a\n", dx[i]);
    }
    return 0;
}

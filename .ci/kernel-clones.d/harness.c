// Runs every CNNUNetKernels function on fixed pseudo-random data and prints the results exactly (%a), so that the
// builds for AVX-512, AVX2 and the baseline (the three target_clones versions) can be compared bit for bit.
#include <stdio.h>
#include <stdlib.h>
#include "CNNUNetKernels.h"
static float rnd(unsigned *s) { *s = *s * 1103515245u + 12345u; return ((*s >> 8) & 0xffff) / 32768.0f - 1.0f; }
int main(void) {
    unsigned seed = 7;
    const ptrdiff_t d = 5, h = 7, w = 9, ty = 4, tx = 5, tzs = 3, rows = tzs * ty;
    float plane[5 * 7 * 9], grad[5 * 7 * 9];
    for (int i = 0; i < d * h * w; i++) { plane[i] = rnd(&seed); grad[i] = rnd(&seed); }
    ptrdiff_t sc = nnunet_winograd_scratch_count(rows, tx);
    float *scratch = calloc(sc, sizeof(float));
    ptrdiff_t cols = rows * (tx + 1);
    float *v = calloc(64 * cols, sizeof(float)), *g = calloc(64 * cols, sizeof(float));
    float out[5 * 7 * 9] = {0};
    float weight[2 * 3 * 27], u[64 * 6], gw[2 * 3 * 27];
    for (int i = 0; i < 2 * 3 * 27; i++) weight[i] = rnd(&seed);
    for (ptrdiff_t alpha = 1; alpha <= 4; alpha += 3) {
        ptrdiff_t rz = alpha == 4 ? 3 : 5, rr = rz * ty, cc = rr * (tx + 1);
        nnunet_winograd_input_block(plane, d, h, w, 0, rr, ty, alpha, tx, scratch, v, cc);
        nnunet_winograd_output_block(v, cc, 0.25f, d, h, w, 0, rr, ty, alpha, tx, scratch, out);
        nnunet_winograd_gradient_block(grad, d, h, w, 0, rr, ty, alpha, tx, scratch, g, cc);
        for (ptrdiff_t p = 0; p < alpha * 16; p++)
            for (ptrdiff_t c = 0; c < cc; c++) if (c % (tx + 1) != tx) printf("%a %a\n", v[p * cc + c], g[p * cc + c]);
        for (int i = 0; i < d * h * w; i++) printf("%a\n", out[i]);
        ptrdiff_t kd = alpha == 4 ? 3 : 1;
        nnunet_winograd_weights(weight, 0, 2, 3, 3 * kd * 9, kd * 9, kd, 0, 6, u);
        nnunet_winograd_weight_gradient(u, 0, 2, 3, kd, 6, gw);
        for (int i = 0; i < alpha * 16 * 6; i++) printf("%a\n", u[i]);
        for (int i = 0; i < 6 * kd * 9; i++) printf("%a\n", gw[i]);
    }
    return 0;
}

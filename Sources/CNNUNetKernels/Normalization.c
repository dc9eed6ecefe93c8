// Instance normalisation kernels (see Normalization.swift in NNUNetCore for the formulas and their checks).
#include "CNNUNetKernels.h"
#include "Vector.h"

NNUNET_NO_CONTRACTION

// Float64 partial sums per lane: NNUNET_SUM_LANES independent chains (whole vectors for every clone), folded in one
// fixed order at the end, so every clone adds the same numbers in the same order.
#define NNUNET_SUM_LANES 32

static inline double fold_lanes(double *lanes) {
    for (ptrdiff_t width = NNUNET_SUM_LANES / 2; width > 0; width /= 2) {
        for (ptrdiff_t l = 0; l < width; l++) lanes[l] += lanes[l + width];
    }
    return lanes[0];
}

NNUNET_CLONES
void nnunet_plane_moments(const float *x, ptrdiff_t count, double *mean, double *m2) {
    double lanes[NNUNET_SUM_LANES] = {0};
    const ptrdiff_t whole = count / NNUNET_SUM_LANES * NNUNET_SUM_LANES;
    for (ptrdiff_t i = 0; i < whole; i += NNUNET_SUM_LANES) {
        for (ptrdiff_t l = 0; l < NNUNET_SUM_LANES; l++) lanes[l] += (double)x[i + l];
    }
    for (ptrdiff_t i = whole; i < count; i++) lanes[i - whole] += (double)x[i];
    const double m = fold_lanes(lanes) / (double)count;
    for (ptrdiff_t l = 0; l < NNUNET_SUM_LANES; l++) lanes[l] = 0;
    for (ptrdiff_t i = 0; i < whole; i += NNUNET_SUM_LANES) {
        for (ptrdiff_t l = 0; l < NNUNET_SUM_LANES; l++) {
            const double d = (double)x[i + l] - m;
            lanes[l] += d * d;
        }
    }
    for (ptrdiff_t i = whole; i < count; i++) {
        const double d = (double)x[i] - m;
        lanes[i - whole] += d * d;
    }
    *mean = m;
    *m2 = fold_lanes(lanes);
}

NNUNET_CLONES
void nnunet_scale_shift(const float *source, float *destination, ptrdiff_t count, float scale, float shift,
                        int leaky, float negative_slope) {
    if (leaky) {
        for (ptrdiff_t i = 0; i < count; i++) {
            const float value = source[i] * scale + shift;
            destination[i] = value < 0 ? value * negative_slope : value;
        }
    } else {
        for (ptrdiff_t i = 0; i < count; i++) destination[i] = source[i] * scale + shift;
    }
}

// The gradient at the normalisation's output: g, or with a leaky ReLU after it (`leaky`), g where the ReLU's output
// is non-negative and negative_slope · g elsewhere.
#define NORM_GRADIENT(i) (leaky ? (output[i] >= 0 ? gradient[i] : negative_slope * gradient[i]) : gradient[i])

// The backward of one plane; `leaky` is a constant in each copy, inlined into every clone (a function called from
// a clone is otherwise compiled once, for the baseline).
__attribute__((always_inline)) static inline void norm_backward_plane(
    const float *gradient, const float *output, float negative_slope, const float *x, float *dx, ptrdiff_t count,
    float mean, float invstd, float gamma, double *sum_gradient, double *sum_gradient_xhat, const int leaky) {
    double sums[NNUNET_SUM_LANES] = {0}, products[NNUNET_SUM_LANES] = {0};
    const ptrdiff_t whole = count / NNUNET_SUM_LANES * NNUNET_SUM_LANES;
    for (ptrdiff_t i = 0; i < whole; i += NNUNET_SUM_LANES) {
        for (ptrdiff_t l = 0; l < NNUNET_SUM_LANES; l++) {
            const float g = NORM_GRADIENT(i + l), xhat = (x[i + l] - mean) * invstd;
            sums[l] += (double)g;
            products[l] += (double)(g * xhat);
        }
    }
    for (ptrdiff_t i = whole; i < count; i++) {
        const float g = NORM_GRADIENT(i), xhat = (x[i] - mean) * invstd;
        sums[i - whole] += (double)g;
        products[i - whole] += (double)(g * xhat);
    }
    const double sg = fold_lanes(sums), sgx = fold_lanes(products);
    *sum_gradient = sg;
    *sum_gradient_xhat = sgx;
    const float k = gamma * invstd / (float)count, a = (float)count, b = (float)sg, d = (float)sgx;
    for (ptrdiff_t i = 0; i < count; i++) {
        const float xhat = (x[i] - mean) * invstd;
        dx[i] = k * (a * NORM_GRADIENT(i) - b - xhat * d);
    }
}

NNUNET_CLONES
void nnunet_instance_norm_backward_plane(const float *gradient, const float *output, float negative_slope,
                                         const float *x, float *dx, ptrdiff_t count, float mean, float invstd,
                                         float gamma, double *sum_gradient, double *sum_gradient_xhat) {
    if (output) {
        norm_backward_plane(gradient, output, negative_slope, x, dx, count, mean, invstd, gamma, sum_gradient,
                            sum_gradient_xhat, 1);
    } else {
        norm_backward_plane(gradient, output, negative_slope, x, dx, count, mean, invstd, gamma, sum_gradient,
                            sum_gradient_xhat, 0);
    }
}

// The convolutions' column gather (see Convolution.swift in NNUNetCore).
#include "CNNUNetKernels.h"
#include "Vector.h"

// One destination line: `destination[start + j · destination_step] = source[j · source_step]` for j < `count`, and
// every other of the `destination_count` values 0. Always inlined, so that each clone keeps its own vector code.
__attribute__((always_inline)) static inline void gather_line(const float *source, float *destination,
                                                              ptrdiff_t destination_count, ptrdiff_t start,
                                                              ptrdiff_t count, ptrdiff_t destination_step,
                                                              ptrdiff_t source_step) {
    if (destination_step == 1) {
        zero_floats(destination, start);
        float *run = destination + start;
        if (source_step == 1) {
            copy_floats(run, source, count);
        } else if (source_step == 2) {
            // Not predicated: a masked stride-2 load becomes a gather; this way it is two loads and a shuffle.
            for (ptrdiff_t j = 0; j < count; j++) run[j] = source[2 * j];
        } else {
            for (ptrdiff_t j = 0; j < count; j++) run[j] = source[j * source_step];
        }
        zero_floats(run + count, destination_count - start - count);
        return;
    }
    zero_floats(destination, destination_count);
    for (ptrdiff_t j = 0; j < count; j++) destination[start + j * destination_step] = source[j * source_step];
}

NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_gather_channel(const float *plane, ptrdiff_t source_height, ptrdiff_t source_width,
                           const int32_t *table_z, const int32_t *table_y, ptrdiff_t destination_depth,
                           ptrdiff_t destination_height, ptrdiff_t destination_width, ptrdiff_t kernel_depth,
                           ptrdiff_t kernel_height, ptrdiff_t kernel_width, const ptrdiff_t *runs,
                           ptrdiff_t row_begin, ptrdiff_t row_count, float *destination, ptrdiff_t row_length) {
    for (ptrdiff_t kz = 0; kz < kernel_depth; kz++) {
        for (ptrdiff_t ky = 0; ky < kernel_height; ky++) {
            for (ptrdiff_t kx = 0; kx < kernel_width; kx++) {
                const ptrdiff_t *run = runs + 5 * kx;  // start, count, source, destination step, source step
                float *target = destination + ((kz * kernel_height + ky) * kernel_width + kx) * row_length;
                for (ptrdiff_t r = 0; r < row_count; r++) {
                    const ptrdiff_t row = row_begin + r;
                    const ptrdiff_t z = row / destination_height, y = row % destination_height;
                    const int32_t sz = table_z[kz * destination_depth + z], sy = table_y[ky * destination_height + y];
                    float *line = target + r * destination_width;
                    if (sz < 0 || sy < 0 || run[1] == 0) {
                        zero_floats(line, destination_width);
                        continue;
                    }
                    gather_line(plane + ((ptrdiff_t)sz * source_height + sy) * source_width + run[2], line,
                                destination_width, run[0], run[1], run[3], run[4]);
                }
            }
        }
    }
}

// The convolutions' column gather, one destination line at a time (see Convolution.swift in NNUNetCore).
#include "CNNUNetKernels.h"
#include "Vector.h"

NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_gather_line(const float *source, float *destination, ptrdiff_t destination_count, ptrdiff_t start,
                        ptrdiff_t count, ptrdiff_t destination_step, ptrdiff_t source_step) {
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

// Vector kernels of NNUNetCore that the Swift compiler cannot vectorise for today's CPUs without unsafe build flags:
// each function is compiled for AVX-512, AVX2 + FMA and the baseline, and the loader picks the best one the CPU
// runs (target_clones). On other architectures they are plain C.
#ifndef CNNUNETKERNELS_H
#define CNNUNETKERNELS_H

#include <stddef.h>

/// Winograd F(2, 3) input transform of one tile row of one channel.
///
/// `plane` is the channel (depth × height × width, C order). The row is tile (tz, ty) with `tiles_x` tiles along x;
/// along z the tile has `depth_alpha` inputs (4: kernel 3, padding 1, 2 outputs per tile; 1: kernel 1). Writes
/// `tiles_x` values at `destination + p · position_stride` for every transform position
/// p = (pz · 4 + py) · 4 + px, p < depth_alpha · 16. `scratch` holds at least
/// `nnunet_winograd_scratch_count(tiles_x)` floats.
void nnunet_winograd_input_row(const float *plane, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width,
                               ptrdiff_t tz, ptrdiff_t ty, ptrdiff_t depth_alpha, ptrdiff_t tiles_x,
                               float *scratch, float *destination, ptrdiff_t position_stride);

/// Winograd F(2, 3) output transform of one tile row of one output channel: reads `tiles_x` products at
/// `products + p · position_stride` for every position p and writes the row's outputs plus `bias` into `plane`
/// (clipped to depth × height × width).
void nnunet_winograd_output_row(const float *products, ptrdiff_t position_stride, float bias, ptrdiff_t depth,
                                ptrdiff_t height, ptrdiff_t width, ptrdiff_t tz, ptrdiff_t ty, ptrdiff_t depth_alpha,
                                ptrdiff_t tiles_x, float *scratch, float *plane);

/// Floats of scratch space the two row transforms need for `tiles_x` tiles per row.
ptrdiff_t nnunet_winograd_scratch_count(ptrdiff_t tiles_x);

#endif

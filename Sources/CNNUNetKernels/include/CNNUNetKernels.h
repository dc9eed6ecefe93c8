// Vector kernels of NNUNetCore that the Swift compiler cannot vectorise for today's CPUs without unsafe build flags:
// each function is compiled for AVX-512, AVX2 + FMA and the baseline, and the loader picks the best one the CPU
// runs (target_clones). On other architectures they are plain C.
#ifndef CNNUNETKERNELS_H
#define CNNUNETKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Winograd input transform (F(2, 3) along y and x) of one channel for a block of `row_count` tile rows from
/// `row_begin` (row = tz · tiles_y + ty, `tiles_x` tiles each).
///
/// `plane` is the channel (depth × height × width, C order); `next_plane` (or NULL) is the channel the caller
/// transforms next, whose rows are prefetched. Along z a tile has `depth_alpha` inputs (6: kernel 3, padding 1,
/// F(4, 3) with 4 outputs per tile; 4: kernel 3, padding 1, F(2, 3) with 2 outputs; 1: kernel 1). Writes, for every
/// transform position p = (pz · 4 + py) · 4 + px (p < depth_alpha · 16), the values of tile (r, t) at
/// `destination + p · position_stride + r · (tiles_x + 1) + t`; the column t = tiles_x of each row is padding, whose
/// values are not used. With `depth_alpha` 4 or 6 it writes whole vectors: each position's columns up to the next
/// multiple of 16 of row_count · (tiles_x + 1). `scratch` holds at least
/// `nnunet_winograd_scratch_count(row_count, tiles_x)` floats.
void nnunet_winograd_input_block(const float *plane, const float *next_plane, ptrdiff_t depth, ptrdiff_t height,
                                 ptrdiff_t width, ptrdiff_t row_begin, ptrdiff_t row_count, ptrdiff_t tiles_y,
                                 ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch, float *destination,
                                 ptrdiff_t position_stride);

/// Winograd output transform (the inverse of the input transform's `depth_alpha`) of one output channel for the same
/// block: reads the products of tile (r, t) at
/// `products + p · position_stride + r · (tiles_x + 1) + t` (each position's columns read up to the next multiple
/// of 16, the excess unused) and writes the outputs plus `bias` into `plane` (clipped to depth × height × width).
void nnunet_winograd_output_block(const float *products, ptrdiff_t position_stride, float bias, ptrdiff_t depth,
                                  ptrdiff_t height, ptrdiff_t width, ptrdiff_t row_begin, ptrdiff_t row_count,
                                  ptrdiff_t tiles_y, ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch,
                                  float *plane);

/// Winograd weight transform `U[p][m][q]` (positions × (m_end - m_begin) rows written at their m × channels_q place)
/// of the kernels whose (m, q) block of `kernel_depth · 3 · 3` values starts at `m · m_stride + q · q_stride`:
/// F(2, 3) along y and x, and along z F(4, 3) (`depth_alpha` 6), F(2, 3) (4) or the identity (kernel depth 1, 1);
/// `flipped` reverses every kernel along every axis. `pair_stride` is rows_m · channels_q (the distance between
/// positions).
void nnunet_winograd_weights(const float *weight, ptrdiff_t m_begin, ptrdiff_t m_end, ptrdiff_t channels_q,
                             ptrdiff_t m_stride, ptrdiff_t q_stride, ptrdiff_t kernel_depth, ptrdiff_t depth_alpha,
                             int flipped, ptrdiff_t pair_stride, float *transformed);

/// The adjoint of the output transform for the weight gradient: from the output gradient `plane` (one channel), the
/// values `A·dy` of every tile of the block at `destination + p · position_stride + r · (tiles_x + 1) + t`, laid out as
/// `nnunet_winograd_input_block` writes, with zeros in the padding column (so that it adds nothing to the products).
void nnunet_winograd_gradient_block(const float *plane, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width,
                                    ptrdiff_t row_begin, ptrdiff_t row_count, ptrdiff_t tiles_y,
                                    ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch, float *destination,
                                    ptrdiff_t position_stride);

/// The adjoint of the weight transform: `weight[m][q][k]` (rows m_begin ..< m_end, `kernel_depth · 3 · 3` values k
/// per pair) from the transform-domain gradient `transformed[p][m][q]` (`pair_stride` = rows · channels_q apart).
void nnunet_winograd_weight_gradient(const float *transformed, ptrdiff_t m_begin, ptrdiff_t m_end,
                                     ptrdiff_t channels_q, ptrdiff_t kernel_depth, ptrdiff_t pair_stride,
                                     float *weight);

/// Floats of scratch space the block transforms need for `row_count` rows of `tiles_x` tiles.
ptrdiff_t nnunet_winograd_scratch_count(ptrdiff_t row_count, ptrdiff_t tiles_x);

/// The convolution column gather's rows (kz, ky, kx) of one source channel for the destination rows
/// `row_begin ..< row_begin + row_count` (row = z · destination_height + y). Row (kz, ky, kx) starts at
/// `destination + ((kz · kernel_height + ky) · kernel_width + kx) · row_length` and holds `destination_width` values
/// per destination row, taken from the line (table_z[kz · destination_depth + z],
/// table_y[ky · destination_height + y]) of `plane` (source_height × source_width values per slice), all zero where a
/// table entry is -1. Along x, `line[start + j · destination_step] = source[source_start + j · source_step]` for
/// j < count and the other values of the line are 0, with `runs` holding (start, count, source_start,
/// destination_step, source_step) for each kx.
void nnunet_gather_channel(const float *plane, ptrdiff_t source_height, ptrdiff_t source_width,
                           const int32_t *table_z, const int32_t *table_y, ptrdiff_t destination_depth,
                           ptrdiff_t destination_height, ptrdiff_t destination_width, ptrdiff_t kernel_depth,
                           ptrdiff_t kernel_height, ptrdiff_t kernel_width, const ptrdiff_t *runs,
                           ptrdiff_t row_begin, ptrdiff_t row_count, float *destination, ptrdiff_t row_length);

/// Mean and sum of squared deviations from it (two passes) of `count` values, summed in Float64 in a fixed order
/// that does not depend on the clone.
void nnunet_plane_moments(const float *x, ptrdiff_t count, double *mean, double *m2);

/// `destination[i] = source[i] · scale + shift` (two roundings), then, with `leaky`, negative values times
/// `negative_slope`; `destination` may be `source`.
void nnunet_scale_shift(const float *source, float *destination, ptrdiff_t count, float scale, float shift,
                        int leaky, float negative_slope);

/// Instance normalisation backward of one plane of `count` values with its forward `mean` and `invstd` and scale
/// `gamma`: the Float64 sums of g and g · x̂ (x̂ = (x - mean) · invstd), and
/// dx = γ · invstd / V · (V · g - Σ g - x̂ · Σ g · x̂). g is `gradient`, or, when `output` (the leaky ReLU's output
/// after the normalisation) is not NULL, `gradient` where `output` is non-negative and `negative_slope` times it
/// elsewhere.
void nnunet_instance_norm_backward_plane(const float *gradient, const float *output, float negative_slope,
                                         const float *x, float *dx, ptrdiff_t count, float mean, float invstd,
                                         float gamma, double *sum_gradient, double *sum_gradient_xhat);

#endif

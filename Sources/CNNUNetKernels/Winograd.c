// Winograd F(2, 3) block transforms (see Convolution+Winograd.swift in NNUNetCore for the algorithm and its checks).
#include "CNNUNetKernels.h"
#include "Vector.h"

NNUNET_NO_CONTRACTION

// 16 floats at any address: one AVX-512 register, two AVX2 or four SSE registers, depending on the clone.
typedef float vector16 __attribute__((ext_vector_type(16), aligned(4), may_alias));

// Vector values cannot pass between functions of different clones (their ABI differs), so these are macros.
#define LOAD16(p) (*(const vector16 *)(p))
#define STORE16(p, v) (*(vector16 *)(p) = (v))

// Values per parity half of an input line: the block's columns plus room for the last row's whole vectors.
static ptrdiff_t input_half(ptrdiff_t row_count, ptrdiff_t tiles_x) { return row_count * (tiles_x + 1) + 16; }

// Pairs split per row: the row's tiles_x + 1 rounded up to whole vectors of 16.
static ptrdiff_t split_count(ptrdiff_t tiles_x) { return (tiles_x + 1 + 15) / 16 * 16; }

ptrdiff_t nnunet_winograd_scratch_count(ptrdiff_t row_count, ptrdiff_t tiles_x) {
    // 28 lines, a spare line and a zero row, and the input transform's cache of split source rows (up to 6 planes).
    const ptrdiff_t cached = 2 * split_count(tiles_x);
    return 28 * 2 * input_half(row_count, tiles_x) + 2 * cached + 6 * (2 * row_count + 2) * cached + 16;
}

// (o0, o1, o2, o3) = Bᵀ (a, b, c, d) element-wise for i < n, from one set of lines into another.
static inline void input_step_copy(const float *restrict a, const float *restrict b, const float *restrict c,
                                   const float *restrict d, float *restrict o0, float *restrict o1,
                                   float *restrict o2, float *restrict o3, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float va = a[i], vb = b[i], vc = c[i], vd = d[i];
        o0[i] = va - vc;
        o1[i] = vb + vc;
        o2[i] = vc - vb;
        o3[i] = vb - vd;
    }
}

// (o0 .. o5) = Bᵀ (a .. f) of F(4, 3) element-wise for i < n: (4a - 5c + e, d + e - 4(b + c), 4(b - c) + e - d,
// 2(d - b) + e - c, 2(b - d) + e - c, 4b - 5d + f).
static inline void input_step6_copy(const float *restrict a, const float *restrict b, const float *restrict c,
                                    const float *restrict d, const float *restrict e, const float *restrict f,
                                    float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
                                    float *restrict o4, float *restrict o5, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float va = a[i], vb = b[i], vc = c[i], vd = d[i], ve = e[i], vf = f[i];
        o0[i] = (4.0f * va - 5.0f * vc) + ve;
        o1[i] = (vd + ve) - 4.0f * (vb + vc);
        o2[i] = 4.0f * (vb - vc) + (ve - vd);
        o3[i] = 2.0f * (vd - vb) + (ve - vc);
        o4[i] = 2.0f * (vb - vd) + (ve - vc);
        o5[i] = (4.0f * vb - 5.0f * vd) + vf;
    }
}

// even[i] = x(2i - 1), odd[i] = x(2i) for i < count (a multiple of 16) of the row x of `width` values, zero outside
// it. Read straight from the row: a copy into a padded line first made the next loads wait for the stores.
NNUNET_INLINE_COPIES
static inline void split_row(const float *restrict x, ptrdiff_t width, float *restrict even, float *restrict odd,
                             ptrdiff_t count) {
    even[0] = 0;
    odd[0] = x[0];
    // Pairs k with both values inside: even[1 + k] = x(1 + 2k), odd[1 + k] = x(2 + 2k).
    const ptrdiff_t pairs = (width - 1) / 2;
    for (ptrdiff_t k = 0; k < pairs; k++) {
        even[1 + k] = x[1 + 2 * k];
        odd[1 + k] = x[2 + 2 * k];
    }
    ptrdiff_t i = 1 + pairs;
    if (1 + 2 * pairs < width) {  // even width: x(width - 1) is an even[] value without its odd partner
        even[i] = x[1 + 2 * pairs];
        odd[i] = 0;
        i++;
    }
    zero_floats(even + i, count - i);
    zero_floats(odd + i, count - i);
}

// even[i] = x(2i), odd[i] = x(2i + 1) for i < count (a multiple of 16) of the row x of `width` values, zero outside
// it.
NNUNET_INLINE_COPIES
static inline void split_row_unshifted(const float *restrict x, ptrdiff_t width, float *restrict even,
                                       float *restrict odd, ptrdiff_t count) {
    const ptrdiff_t pairs = width / 2;
    for (ptrdiff_t k = 0; k < pairs; k++) {
        even[k] = x[2 * k];
        odd[k] = x[2 * k + 1];
    }
    ptrdiff_t i = pairs;
    if (2 * pairs < width) {
        even[i] = x[2 * pairs];
        odd[i] = 0;
        i++;
    }
    zero_floats(even + i, count - i);
    zero_floats(odd + i, count - i);
}

// x step of one line: tile j reads (even[j], odd[j], even[j + 1], odd[j + 1]); the last of the n columns is zero.
static inline void input_x_step(const float *restrict even, const float *restrict odd, float *restrict o0,
                                float *restrict o1, float *restrict o2, float *restrict o3, ptrdiff_t n) {
    NNUNET_PREDICATED
    for (ptrdiff_t j = 0; j < n - 1; j++) {
        float a = even[j], b = odd[j], c = even[j + 1], d = odd[j + 1];
        o0[j] = a - c;
        o1[j] = b + c;
        o2[j] = c - b;
        o3[j] = b - d;
    }
    o0[n - 1] = 0;
    o1[n - 1] = 0;
    o2[n - 1] = 0;
    o3[n - 1] = 0;
}

NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_winograd_input_block(const float *plane, const float *next_plane, ptrdiff_t depth, ptrdiff_t height,
                                 ptrdiff_t width, ptrdiff_t row_begin, ptrdiff_t row_count, ptrdiff_t tiles_y,
                                 ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch, float *destination,
                                 ptrdiff_t position_stride) {
    // Line (pz, dy) of the scratch (depth alpha 4; line py with depth alpha 1) holds, for every row r of the block, the
    // values at x = 2i - 1 in [r · pitch + i] and at x = 2i in [half + r · pitch + i], i <= tiles_x. Rows are split by
    // parity once per run of block rows with the same tz (tile rows overlap by two source rows along y) into a cache;
    // the z step (or, with depth alpha 1, the y step) reads the cache and writes whole vectors, whose excess lands in
    // the next row's place (written after it) or in the padding at the end of each half.
    const ptrdiff_t pitch = tiles_x + 1, n = row_count * pitch, half = input_half(row_count, tiles_x);
    const ptrdiff_t length = 2 * half, count = split_count(tiles_x), cached = 2 * count;
    float *zero = scratch + 28 * length + cached, *cache = zero + cached;
    zero_floats(zero, cached);
    for (ptrdiff_t r = 0; r < row_count;) {
        const ptrdiff_t tz = (row_begin + r) / tiles_y, ty0 = (row_begin + r) % tiles_y;
        const ptrdiff_t r_end = r + (tiles_y - ty0) < row_count ? r + (tiles_y - ty0) : row_count;
        const ptrdiff_t z0 = depth_alpha == 6 ? 4 * tz - 1 : depth_alpha == 4 ? 2 * tz - 1 : tz, y0 = 2 * ty0 - 1;
        const ptrdiff_t rows_y = 2 * (r_end - r) + 2;
        for (ptrdiff_t dz = 0; dz < depth_alpha; dz++) {
            const ptrdiff_t iz = z0 + dz;
            if (iz < 0 || iz >= depth) continue;
            for (ptrdiff_t k = 0; k < rows_y; k++) {
                const ptrdiff_t iy = y0 + k;
                if (iy < 0 || iy >= height) continue;
                float *row = cache + (dz * rows_y + k) * cached;
                const ptrdiff_t offset = (iz * height + iy) * width;
                split_row(plane + offset, width, row, row + count, count);
                // The caller's next channel reads the same rows: ask for them now, so that they arrive meanwhile.
                if (next_plane) {
                    for (ptrdiff_t i = 0; i < width; i += 16) __builtin_prefetch(next_plane + offset + i, 0, 3);
                    __builtin_prefetch(next_plane + offset + width - 1, 0, 3);
                }
            }
        }
        for (ptrdiff_t rr = r; rr < r_end; rr++) {
            const ptrdiff_t ty = ty0 + (rr - r);
            const float *rows[6][4];
            for (ptrdiff_t dz = 0; dz < depth_alpha; dz++) {
                const ptrdiff_t iz = z0 + dz;
                for (ptrdiff_t dy = 0; dy < 4; dy++) {
                    const ptrdiff_t iy = 2 * ty - 1 + dy, k = iy - y0;
                    const int inside = iz >= 0 && iz < depth && iy >= 0 && iy < height;
                    rows[dz][dy] = inside ? cache + (dz * rows_y + k) * cached : zero;
                }
            }
            float *target = scratch + rr * pitch;
            for (ptrdiff_t part = 0; part < 2; part++) {
                const ptrdiff_t from = part * count, to = part * half;
                if (depth_alpha == 6) {
                    for (ptrdiff_t dy = 0; dy < 4; dy++) {
                        float *o = target + dy * length + to;
                        input_step6_copy(rows[0][dy] + from, rows[1][dy] + from, rows[2][dy] + from,
                                         rows[3][dy] + from, rows[4][dy] + from, rows[5][dy] + from, o,
                                         o + 4 * length, o + 8 * length, o + 12 * length, o + 16 * length,
                                         o + 20 * length, count);
                    }
                } else if (depth_alpha == 4) {
                    for (ptrdiff_t dy = 0; dy < 4; dy++) {
                        float *o = target + dy * length + to;
                        input_step_copy(rows[0][dy] + from, rows[1][dy] + from, rows[2][dy] + from,
                                        rows[3][dy] + from, o, o + 4 * length, o + 8 * length, o + 12 * length, count);
                    }
                } else {
                    float *o = target + to;
                    input_step_copy(rows[0][0] + from, rows[0][1] + from, rows[0][2] + from, rows[0][3] + from, o,
                                    o + length, o + 2 * length, o + 3 * length, count);
                }
            }
        }
        r = r_end;
    }
    if (depth_alpha > 1) {
        // y and x together, 16 columns at a time: lines (pz, dy) -> positions (pz, py, px). Tile j reads (even[j],
        // odd[j], even[j + 1], odd[j + 1]) of each line; the last vector may write up to the next multiple of 16
        // columns.
        for (ptrdiff_t j = 0; j < n; j += 16) {
            for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) {
                vector16 a[4], b[4], c[4], d[4];
                for (ptrdiff_t dy = 0; dy < 4; dy++) {
                    const float *line = scratch + (pz * 4 + dy) * length + j;
                    a[dy] = LOAD16(line);
                    b[dy] = LOAD16(line + half);
                    c[dy] = LOAD16(line + 1);
                    d[dy] = LOAD16(line + half + 1);
                }
                // Bᵀ along y (rows dy = 0..3 -> py = 0..3: v0 - v2, v1 + v2, v2 - v1, v1 - v3), then along x.
                vector16 ea, ob, ec, od;
                for (ptrdiff_t py = 0; py < 4; py++) {
                    if (py == 0) {
                        ea = a[0] - a[2], ob = b[0] - b[2], ec = c[0] - c[2], od = d[0] - d[2];
                    } else if (py == 1) {
                        ea = a[1] + a[2], ob = b[1] + b[2], ec = c[1] + c[2], od = d[1] + d[2];
                    } else if (py == 2) {
                        ea = a[2] - a[1], ob = b[2] - b[1], ec = c[2] - c[1], od = d[2] - d[1];
                    } else {
                        ea = a[1] - a[3], ob = b[1] - b[3], ec = c[1] - c[3], od = d[1] - d[3];
                    }
                    float *o = destination + ((pz * 4 + py) * 4) * position_stride + j;
                    STORE16(o, ea - ec);
                    STORE16(o + position_stride, ob + ec);
                    STORE16(o + 2 * position_stride, ec - ob);
                    STORE16(o + 3 * position_stride, ob - od);
                }
            }
        }
        return;
    }
    // x (depth alpha 1; the y step was done above): tile (r, t) reads (x(2t - 1), x(2t), x(2t + 1), x(2t + 2)) =
    // (even[j], odd[j], even[j + 1], odd[j + 1]) with j = r · pitch + t; the column t = tiles_x of each row is
    // padding, its values unused.
    for (ptrdiff_t line_index = 0; line_index < 4; line_index++) {
        const float *even = scratch + line_index * length;
        float *o0 = destination + (line_index * 4) * position_stride;
        input_x_step(even, even + half, o0, o0 + position_stride, o0 + 2 * position_stride, o0 + 3 * position_stride,
                     n);
    }
}

// Aᵀ (a, b, c, d) = (a + b + c, b - c - d).
#define OUTPUT_EVEN(a, b, c, d) ((a) + (b) + (c))
#define OUTPUT_ODD(a, b, c, d) ((b) - (c) - (d))

// Aᵀ along x, then y, of the 16 positions (py, px) of depth position pz, 16 columns from j: t[oy · 2 + parity].
#define OUTPUT_XY(products, position_stride, pz, j, t)                                                              \
    do {                                                                                                            \
        vector16 even_[4], odd_[4];                                                                                 \
        for (ptrdiff_t py_ = 0; py_ < 4; py_++) {                                                                   \
            const float *m_ = (products) + (((pz) * 4 + py_) * 4) * (position_stride) + (j);                        \
            const vector16 m0_ = LOAD16(m_), m1_ = LOAD16(m_ + (position_stride));                                  \
            const vector16 m2_ = LOAD16(m_ + 2 * (position_stride)), m3_ = LOAD16(m_ + 3 * (position_stride));      \
            even_[py_] = OUTPUT_EVEN(m0_, m1_, m2_, m3_);                                                           \
            odd_[py_] = OUTPUT_ODD(m0_, m1_, m2_, m3_);                                                             \
        }                                                                                                           \
        (t)[0] = OUTPUT_EVEN(even_[0], even_[1], even_[2], even_[3]);                                               \
        (t)[1] = OUTPUT_EVEN(odd_[0], odd_[1], odd_[2], odd_[3]);                                                   \
        (t)[2] = OUTPUT_ODD(even_[0], even_[1], even_[2], even_[3]);                                                \
        (t)[3] = OUTPUT_ODD(odd_[0], odd_[1], odd_[2], odd_[3]);                                                    \
    } while (0)

// Aᵀ of F(4, 3) (4 × 6): (m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + 2(m3 - m4), (m1 + m2) + 4(m3 + m4),
// (m1 - m2) + 8(m3 - m4) + m5), in the output block below.

// out[2t] = even[t] + bias, out[2t + 1] = odd[t] + bias for t < count (a multiple of 16).
static inline void interleave(const float *restrict even, const float *restrict odd, float bias,
                              float *restrict out, ptrdiff_t count) {
    for (ptrdiff_t t = 0; t < count; t++) {
        out[2 * t] = even[t] + bias;
        out[2 * t + 1] = odd[t] + bias;
    }
}

NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_winograd_output_block(const float *products, ptrdiff_t position_stride, float bias, ptrdiff_t depth,
                                  ptrdiff_t height, ptrdiff_t width, ptrdiff_t row_begin, ptrdiff_t row_count,
                                  ptrdiff_t tiles_y, ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch,
                                  float *plane) {
    const ptrdiff_t pitch = tiles_x + 1, n = row_count * pitch, half = input_half(row_count, tiles_x);
    const ptrdiff_t length = 2 * half, count = split_count(tiles_x);
    const ptrdiff_t depth_outputs = depth_alpha == 6 ? 4 : depth_alpha == 4 ? 2 : 1, whole = (n + 15) / 16 * 16;
    // x, y and z together, 16 columns at a time: positions (pz, py, px) -> line (oz, oy), with the even outputs
    // x = 2t at [r · pitch + t] and the odd ones at [half + r · pitch + t]. Aᵀ along x, then y, then z, the order of
    // the separable transform.
    if (depth_alpha == 6) {
        // F(4, 3) along z, accumulated pair by pair of positions pz (0, then 1 and 2, 3 and 4, then 5) in the
        // grouping written above, so that at most 16 accumulators and two positions' values are live.
        for (ptrdiff_t j = 0; j < n; j += 16) {
            vector16 acc[4][4];  // [oz][oy · 2 + parity]
            for (ptrdiff_t pair = 0; pair < 4; pair++) {
                const ptrdiff_t first = pair == 0 ? 0 : pair == 3 ? 5 : 2 * pair - 1;
                const ptrdiff_t last = pair == 0 || pair == 3 ? first : first + 1;
                vector16 y[2][4];
                for (ptrdiff_t pz = first; pz <= last; pz++) OUTPUT_XY(products, position_stride, pz, j, y[pz - first]);
                for (ptrdiff_t k = 0; k < 4; k++) {
                    if (pair == 0) {
                        acc[0][k] = y[0][k];
                    } else if (pair == 1) {
                        const vector16 sum = y[0][k] + y[1][k], difference = y[0][k] - y[1][k];
                        acc[0][k] = acc[0][k] + sum;
                        acc[1][k] = difference;
                        acc[2][k] = sum;
                        acc[3][k] = difference;
                    } else if (pair == 2) {
                        const vector16 sum = y[0][k] + y[1][k], difference = y[0][k] - y[1][k];
                        acc[0][k] = acc[0][k] + sum;
                        acc[1][k] = acc[1][k] + 2.0f * difference;
                        acc[2][k] = acc[2][k] + 4.0f * sum;
                        acc[3][k] = acc[3][k] + 8.0f * difference;
                    } else {
                        acc[3][k] = acc[3][k] + y[0][k];
                    }
                }
            }
            for (ptrdiff_t oz = 0; oz < 4; oz++) {
                for (ptrdiff_t k = 0; k < 4; k++) {
                    STORE16(scratch + (oz * 2 + k / 2) * length + (k % 2) * half + j, acc[oz][k]);
                }
            }
        }
    }
    for (ptrdiff_t j = 0; depth_alpha != 6 && j < n; j += 16) {
        vector16 ys[4][4];  // [pz][oy · 2 + parity]
        for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) OUTPUT_XY(products, position_stride, pz, j, ys[pz]);
        for (ptrdiff_t oz = 0; oz < depth_outputs; oz++) {
            for (ptrdiff_t oy = 0; oy < 2; oy++) {
                for (ptrdiff_t parity = 0; parity < 2; parity++) {
                    const ptrdiff_t k = oy * 2 + parity;
                    vector16 value = ys[0][k];
                    if (depth_alpha == 4 && oz == 0) {
                        value = OUTPUT_EVEN(ys[0][k], ys[1][k], ys[2][k], ys[3][k]);
                    } else if (depth_alpha == 4) {
                        value = OUTPUT_ODD(ys[0][k], ys[1][k], ys[2][k], ys[3][k]);
                    }
                    STORE16(scratch + (oz * 2 + oy) * length + parity * half + j, value);
                }
            }
        }
    }
    // The rest of each half is zeroed, so that whole-vector reads of the last row see finite values.
    for (ptrdiff_t line_index = 0; line_index < 2 * depth_outputs; line_index++) {
        zero_floats(scratch + line_index * length + whole, half - whole);
        zero_floats(scratch + line_index * length + half + whole, half - whole);
    }
    // Each row is interleaved in whole vectors into a line buffer and its width copied out.
    float *line = scratch + 2 * depth_outputs * length;
    for (ptrdiff_t oz = 0; oz < depth_outputs; oz++) {
        for (ptrdiff_t oy = 0; oy < 2; oy++) {
            const float *result = scratch + (oz * 2 + oy) * length;
            for (ptrdiff_t r = 0; r < row_count; r++) {
                const ptrdiff_t tz = (row_begin + r) / tiles_y, ty = (row_begin + r) % tiles_y;
                const ptrdiff_t z = tz * depth_outputs + oz, y = 2 * ty + oy;
                if (z >= depth || y >= height) continue;
                interleave(result + r * pitch, result + half + r * pitch, bias, line, count);
                copy_floats(plane + (z * height + y) * width, line, width);
            }
        }
    }
}

// (a, b, c) -> G (a, b, c) = (a, (a + b + c) / 2, (a - b + c) / 2, c), for 16 channels q at a time (one per lane).
#define LANES 16
NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_winograd_weights(const float *weight, ptrdiff_t m_begin, ptrdiff_t m_end, ptrdiff_t channels_q,
                             ptrdiff_t m_stride, ptrdiff_t q_stride, ptrdiff_t kernel_depth, ptrdiff_t depth_alpha,
                             int flipped, ptrdiff_t pair_stride, float *transformed) {
    const ptrdiff_t count = kernel_depth * 9;
    float g[27][LANES], gx[36][LANES], gy[48][LANES], gz[96][LANES];
    for (ptrdiff_t m = m_begin; m < m_end; m++) {
        for (ptrdiff_t q0 = 0; q0 < channels_q; q0 += LANES) {
            const ptrdiff_t lanes = channels_q - q0 < LANES ? channels_q - q0 : LANES;
            for (ptrdiff_t i = 0; i < count; i++) {
                const float *source = weight + m * m_stride + q0 * q_stride + (flipped ? count - 1 - i : i);
                for (ptrdiff_t l = 0; l < LANES; l++) g[i][l] = l < lanes ? source[l * q_stride] : 0;
            }
            for (ptrdiff_t row = 0; row < kernel_depth * 3; row++) {
                for (ptrdiff_t l = 0; l < LANES; l++) {
                    const float a = g[row * 3][l], b = g[row * 3 + 1][l], c = g[row * 3 + 2][l];
                    gx[row * 4][l] = a;
                    gx[row * 4 + 1][l] = (a + b + c) * 0.5f;
                    gx[row * 4 + 2][l] = (a - b + c) * 0.5f;
                    gx[row * 4 + 3][l] = c;
                }
            }
            for (ptrdiff_t kz = 0; kz < kernel_depth; kz++) {
                for (ptrdiff_t px = 0; px < 4; px++) {
                    for (ptrdiff_t l = 0; l < LANES; l++) {
                        const float a = gx[(kz * 3) * 4 + px][l], b = gx[(kz * 3 + 1) * 4 + px][l];
                        const float c = gx[(kz * 3 + 2) * 4 + px][l];
                        gy[(kz * 4) * 4 + px][l] = a;
                        gy[(kz * 4 + 1) * 4 + px][l] = (a + b + c) * 0.5f;
                        gy[(kz * 4 + 2) * 4 + px][l] = (a - b + c) * 0.5f;
                        gy[(kz * 4 + 3) * 4 + px][l] = c;
                    }
                }
            }
            float *out = transformed + m * channels_q + q0;
            if (kernel_depth == 3 && depth_alpha == 6) {
                // G of F(4, 3): (a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6,
                // a / 24 - b / 12 + c / 6, c).
                for (ptrdiff_t i = 0; i < 16; i++) {
                    for (ptrdiff_t l = 0; l < LANES; l++) {
                        const float a = gy[i][l], b = gy[16 + i][l], c = gy[32 + i][l];
                        gz[i][l] = a * 0.25f;
                        gz[16 + i][l] = -((a + b) + c) / 6.0f;
                        gz[32 + i][l] = -((a - b) + c) / 6.0f;
                        gz[48 + i][l] = (a / 24.0f + b / 12.0f) + c / 6.0f;
                        gz[64 + i][l] = (a / 24.0f - b / 12.0f) + c / 6.0f;
                        gz[80 + i][l] = c;
                    }
                }
                for (ptrdiff_t p = 0; p < 96; p++) copy_floats(out + p * pair_stride, gz[p], lanes);
            } else if (kernel_depth == 3) {
                for (ptrdiff_t i = 0; i < 16; i++) {
                    for (ptrdiff_t l = 0; l < LANES; l++) {
                        const float a = gy[i][l], b = gy[16 + i][l], c = gy[32 + i][l];
                        gz[i][l] = a;
                        gz[16 + i][l] = (a + b + c) * 0.5f;
                        gz[32 + i][l] = (a - b + c) * 0.5f;
                        gz[48 + i][l] = c;
                    }
                }
                for (ptrdiff_t p = 0; p < 64; p++) copy_floats(out + p * pair_stride, gz[p], lanes);
            } else {
                for (ptrdiff_t p = 0; p < 16; p++) copy_floats(out + p * pair_stride, gy[p], lanes);
            }
        }
    }
}

// (a, b) -> A (a, b) = (a, a + b, a - b, -b): the adjoint of Aᵀ, element-wise for i < n (o0 = a would otherwise
// become a memcpy call).
NNUNET_INLINE_COPIES
static inline void gradient_step(const float *restrict a, const float *restrict b, float *restrict o0,
                                 float *restrict o1, float *restrict o2, float *restrict o3, ptrdiff_t n) {
    NNUNET_PREDICATED
    for (ptrdiff_t i = 0; i < n; i++) {
        float va = a[i], vb = b[i];
        o0[i] = va;
        o1[i] = va + vb;
        o2[i] = va - vb;
        o3[i] = -vb;
    }
}

NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_winograd_gradient_block(const float *plane, ptrdiff_t depth, ptrdiff_t height, ptrdiff_t width,
                                    ptrdiff_t row_begin, ptrdiff_t row_count, ptrdiff_t tiles_y,
                                    ptrdiff_t depth_alpha, ptrdiff_t tiles_x, float *scratch, float *destination,
                                    ptrdiff_t position_stride) {
    // Line (oz, oy) holds the output gradient of every row r at x = 2t in [r · pitch + t] and x = 2t + 1 in
    // [half + r · pitch + t], zero outside the volume, so the padding column t = tiles_x is zero as well.
    const ptrdiff_t pitch = tiles_x + 1, n = row_count * pitch, half = input_half(row_count, tiles_x);
    const ptrdiff_t length = 2 * half, count = split_count(tiles_x);
    const ptrdiff_t depth_outputs = depth_alpha == 4 ? 2 : 1;
    float *outputs = scratch, *expanded_z = scratch + 4 * length, *expanded = expanded_z + 8 * length;
    for (ptrdiff_t r = 0; r < row_count; r++) {
        const ptrdiff_t tz = (row_begin + r) / tiles_y, ty = (row_begin + r) % tiles_y;
        for (ptrdiff_t oz = 0; oz < depth_outputs; oz++) {
            const ptrdiff_t z = tz * depth_outputs + oz;
            for (ptrdiff_t oy = 0; oy < 2; oy++) {
                const ptrdiff_t y = 2 * ty + oy;
                float *even = outputs + (oz * 2 + oy) * length + r * pitch;
                if (z >= depth || y >= height) {
                    zero_floats(even, pitch);
                    zero_floats(even + half, pitch);
                    continue;
                }
                split_row_unshifted(plane + (z * height + y) * width, width, even, even + half, count);
            }
        }
    }
    // z: (oz, oy) -> (pz, oy); y: (pz, oy) -> (pz, py); both halves.
    for (ptrdiff_t offset = 0; offset <= half; offset += half) {
        const float *source = outputs;
        if (depth_alpha == 4) {
            for (ptrdiff_t oy = 0; oy < 2; oy++) {
                float *o = expanded_z + oy * length + offset;
                gradient_step(outputs + oy * length + offset, outputs + (2 + oy) * length + offset, o,
                              o + 2 * length, o + 4 * length, o + 6 * length, n);
            }
            source = expanded_z;
        }
        for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) {
            float *o = expanded + pz * 4 * length + offset;
            gradient_step(source + (pz * 2) * length + offset, source + (pz * 2 + 1) * length + offset, o,
                          o + length, o + 2 * length, o + 3 * length, n);
        }
    }
    // x: (even, odd) -> the four px positions.
    for (ptrdiff_t line_index = 0; line_index < depth_alpha * 4; line_index++) {
        const float *even = expanded + line_index * length;
        float *o0 = destination + (line_index * 4) * position_stride;
        gradient_step(even, even + half, o0, o0 + position_stride, o0 + 2 * position_stride,
                      o0 + 3 * position_stride, n);
    }
}

// (u0, u1, u2, u3) -> Gᵀ u = (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3), 16 channels at a time.
NNUNET_CLONES NNUNET_INLINE_COPIES
void nnunet_winograd_weight_gradient(const float *transformed, ptrdiff_t m_begin, ptrdiff_t m_end,
                                     ptrdiff_t channels_q, ptrdiff_t kernel_depth, ptrdiff_t pair_stride,
                                     float *weight) {
    const ptrdiff_t count = kernel_depth * 9, positions = kernel_depth == 3 ? 64 : 16;
    float u[64][LANES], ux[48][LANES], uy[36][LANES], uz[27][LANES];
    for (ptrdiff_t m = m_begin; m < m_end; m++) {
        for (ptrdiff_t q0 = 0; q0 < channels_q; q0 += LANES) {
            const ptrdiff_t lanes = channels_q - q0 < LANES ? channels_q - q0 : LANES;
            for (ptrdiff_t p = 0; p < positions; p++) {
                const float *source = transformed + p * pair_stride + m * channels_q + q0;
                for (ptrdiff_t l = 0; l < LANES; l++) u[p][l] = l < lanes ? source[l] : 0;
            }
            // x: (pz, py, px) -> (pz, py, kx)
            for (ptrdiff_t row = 0; row < positions / 4; row++) {
                for (ptrdiff_t l = 0; l < LANES; l++) {
                    const float a = u[row * 4][l], b = u[row * 4 + 1][l], c = u[row * 4 + 2][l];
                    const float d = u[row * 4 + 3][l];
                    ux[row * 3][l] = a + (b + c) * 0.5f;
                    ux[row * 3 + 1][l] = (b - c) * 0.5f;
                    ux[row * 3 + 2][l] = (b + c) * 0.5f + d;
                }
            }
            // y: (pz, py, kx) -> (pz, ky, kx)
            const ptrdiff_t depth_alpha = kernel_depth == 3 ? 4 : 1;
            for (ptrdiff_t pz = 0; pz < depth_alpha; pz++) {
                for (ptrdiff_t kx = 0; kx < 3; kx++) {
                    for (ptrdiff_t l = 0; l < LANES; l++) {
                        const float a = ux[(pz * 4) * 3 + kx][l], b = ux[(pz * 4 + 1) * 3 + kx][l];
                        const float c = ux[(pz * 4 + 2) * 3 + kx][l], d = ux[(pz * 4 + 3) * 3 + kx][l];
                        uy[(pz * 3) * 3 + kx][l] = a + (b + c) * 0.5f;
                        uy[(pz * 3 + 1) * 3 + kx][l] = (b - c) * 0.5f;
                        uy[(pz * 3 + 2) * 3 + kx][l] = (b + c) * 0.5f + d;
                    }
                }
            }
            const float (*result)[LANES] = uy;
            if (kernel_depth == 3) {
                // z: (pz, ky, kx) -> (kz, ky, kx)
                for (ptrdiff_t i = 0; i < 9; i++) {
                    for (ptrdiff_t l = 0; l < LANES; l++) {
                        const float a = uy[i][l], b = uy[9 + i][l], c = uy[18 + i][l], d = uy[27 + i][l];
                        uz[i][l] = a + (b + c) * 0.5f;
                        uz[9 + i][l] = (b - c) * 0.5f;
                        uz[18 + i][l] = (b + c) * 0.5f + d;
                    }
                }
                result = uz;
            }
            for (ptrdiff_t l = 0; l < lanes; l++) {
                float *target = weight + (m * channels_q + q0 + l) * count;
                for (ptrdiff_t k = 0; k < count; k++) target[k] = result[k][l];
            }
        }
    }
}

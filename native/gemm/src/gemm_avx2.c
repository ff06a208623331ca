/*
 * C (+)= A.B on AVX2 + FMA (256-bit), the same contract as kernels.wat's gemm: strides in
 * float32 elements, every operand addressed through (row stride, column stride), so a
 * transposed operand is a stride swap and a batch stride of 0 broadcasts.
 *
 * Why a native kernel at all: wasm SIMD is 128 bits wide, and V8 (Node 20) spills registers as
 * soon as a wasm micro-kernel keeps more than eight accumulators (docs/engine.md, GEMM
 * roofline). Here a 6x16 tile keeps twelve 8-float accumulators in ymm registers: four times
 * the flops per depth step of the wasm 4x8 kernel.
 *
 * Numerics equal the wasm relaxed build's bit for bit: per depth block of KC, each C element's
 * products are summed from zero with one fused multiply-add per depth step, in depth order, and
 * the block's sum is then added to C (accumulate, or any block after the first) or to the bias,
 * exactly as kernels.wat's micro-kernels store their tiles.
 *
 * Compiled with -mavx2 -mfma; the addon calls it only after checking the CPU (cpu.c).
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"

#define MR 6
#define NR 16
#define KC 256
#define MC 72
#define NC 1024

static float *aligned_floats(size_t count) {
  void *p = NULL;
  if (posix_memalign(&p, 64, count * sizeof(float) + 64) != 0) return NULL;
  return (float *)p;
}

/* The caller's packing buffers, grown to what this product needs; 0 on success. */
static int ensure_buffers(tfleet_buffers *buffers, size_t b_floats) {
  if (!buffers->a) {
    buffers->a = aligned_floats((size_t)(MC + MR) * KC);
    if (!buffers->a) return -1;
  }
  if (b_floats > buffers->b_floats) {
    free(buffers->b);
    buffers->b = aligned_floats(b_floats);
    buffers->b_floats = buffers->b ? b_floats : 0;
    if (!buffers->b) return -1;
  }
  return 0;
}

void tfleet_buffers_free(tfleet_buffers *buffers) {
  free(buffers->a);
  free(buffers->b);
  buffers->a = NULL;
  buffers->b = NULL;
  buffers->b_floats = 0;
}

/* kc x nc block of B into NR-column panels (depth-major inside a panel), zero padded. */
static void pack_b_block(const float *b, long rsB, long csB, int kc, int nc, float *dst) {
  for (int j0 = 0; j0 < nc; j0 += NR) {
    int nr = nc - j0 < NR ? nc - j0 : NR;
    const float *src = b + (long)j0 * csB;
    if (nr == NR && csB == 1) {
      for (int p = 0; p < kc; p++) {
        const float *row = src + (long)p * rsB;
        _mm256_storeu_ps(dst, _mm256_loadu_ps(row));
        _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(row + 8));
        dst += NR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        const float *row = src + (long)p * rsB;
        int j = 0;
        for (; j < nr; j++) dst[j] = row[(long)j * csB];
        for (; j < NR; j++) dst[j] = 0.0f;
        dst += NR;
      }
    }
  }
}

/* mc x kc block of A into MR-row micro-panels (depth-major), zero padded. */
static void pack_a_block(const float *a, long rsA, long csA, int mc, int kc, float *dst) {
  for (int i0 = 0; i0 < mc; i0 += MR) {
    int mr = mc - i0 < MR ? mc - i0 : MR;
    const float *src = a + (long)i0 * rsA;
    if (mr == MR && csA == 1) {
      const float *r0 = src, *r1 = src + rsA, *r2 = src + 2 * rsA, *r3 = src + 3 * rsA, *r4 = src + 4 * rsA, *r5 = src + 5 * rsA;
      for (int p = 0; p < kc; p++) {
        dst[0] = r0[p]; dst[1] = r1[p]; dst[2] = r2[p]; dst[3] = r3[p]; dst[4] = r4[p]; dst[5] = r5[p];
        dst += MR;
      }
    } else if (mr == MR && rsA == 1) {
      for (int p = 0; p < kc; p++) {
        const float *col = src + (long)p * csA;
        dst[0] = col[0]; dst[1] = col[1]; dst[2] = col[2]; dst[3] = col[3]; dst[4] = col[4]; dst[5] = col[5];
        dst += MR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        int i = 0;
        for (; i < mr; i++) dst[i] = src[(long)i * rsA + (long)p * csA];
        for (; i < MR; i++) dst[i] = 0.0f;
        dst += MR;
      }
    }
  }
}

/*
 * One MR x NR tile: mode 0 stores the block's sums, 1 adds them to C, 2 adds them to the bias
 * row. rows/cols: the valid part of the tile (the packed operands are zero padded beyond it).
 */
static void kernel_6x16(const float *pa, const float *pb, int kc, float *c, long ldc, int mode, const float *bias, int rows, int cols) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  float tile[MR * NR] __attribute__((aligned(32)));
  int full = rows == MR && cols == NR;
  for (int p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(pb);
    __m256 b1 = _mm256_loadu_ps(pb + 8);
    __m256 a;
    a = _mm256_broadcast_ss(pa + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(pa + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(pa + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(pa + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(pa + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(pa + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    pa += MR;
    pb += NR;
  }
  if (full && mode == 0) {
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10); _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51);
    return;
  }
  if (full && mode == 1) {
#define ADD_ROW(r, lo, hi) \
    _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(lo, _mm256_loadu_ps(c + r * ldc))); \
    _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(hi, _mm256_loadu_ps(c + r * ldc + 8)));
    ADD_ROW(0, c00, c01) ADD_ROW(1, c10, c11) ADD_ROW(2, c20, c21)
    ADD_ROW(3, c30, c31) ADD_ROW(4, c40, c41) ADD_ROW(5, c50, c51)
#undef ADD_ROW
    return;
  }
  if (full && mode == 2) {
    __m256 lo = _mm256_loadu_ps(bias), hi = _mm256_loadu_ps(bias + 8);
#define BIAS_ROW(r, a, b) \
    _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(a, lo)); _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(b, hi));
    BIAS_ROW(0, c00, c01) BIAS_ROW(1, c10, c11) BIAS_ROW(2, c20, c21)
    BIAS_ROW(3, c30, c31) BIAS_ROW(4, c40, c41) BIAS_ROW(5, c50, c51)
#undef BIAS_ROW
    return;
  }
  _mm256_store_ps(tile, c00); _mm256_store_ps(tile + 8, c01);
  _mm256_store_ps(tile + 16, c10); _mm256_store_ps(tile + 24, c11);
  _mm256_store_ps(tile + 32, c20); _mm256_store_ps(tile + 40, c21);
  _mm256_store_ps(tile + 48, c30); _mm256_store_ps(tile + 56, c31);
  _mm256_store_ps(tile + 64, c40); _mm256_store_ps(tile + 72, c41);
  _mm256_store_ps(tile + 80, c50); _mm256_store_ps(tile + 88, c51);
  for (int i = 0; i < rows; i++) {
    for (int j = 0; j < cols; j++) {
      float v = tile[i * NR + j];
      if (mode == 1) v = v + c[i * ldc + j];
      else if (mode == 2) v = v + bias[j];
      c[i * ldc + j] = v;
    }
  }
}

size_t tfleet_packed_floats(int n, int k) {
  size_t panels = (size_t)((n + NR - 1) / NR);
  return panels * NR * (size_t)k;
}

void tfleet_pack_b(const float *b, long rsB, long csB, int k, int n, float *dst) {
  /* gemm_core's block order: column blocks of NC, depth blocks of KC inside each */
  for (int jc = 0; jc < n; jc += NC) {
    int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = k - pc < KC ? k - pc : KC;
      pack_b_block(b + (long)pc * rsB + (long)jc * csB, rsB, csB, kc, nc, dst);
      dst += (size_t)((nc + NR - 1) / NR) * NR * kc;
    }
  }
}

int tfleet_gemm(const tfleet_gemm_args *g, const float *prepacked, tfleet_buffers *buffers) {
  int batch = g->batch, m = g->m, n = g->n, k = g->k;
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0) return 0;
  size_t b_block = (size_t)((NC + NR - 1) / NR) * NR * KC;
  if (ensure_buffers(buffers, prepacked ? 0 : b_block) != 0) return -1;
  float *packed_a_buf = buffers->a;
  float *packed_b_buf = buffers->b;
  int one_block = g->bBatch == 0 && n <= NC && k <= KC;
  int packed_once = 0;
  for (int s = 0; s < batch; s++) {
    const float *aS = g->a + (long)s * g->aBatch;
    const float *bS = g->b + (long)s * g->bBatch;
    float *cS = g->c + (long)s * g->cBatch;
    const float *pre = prepacked;
    for (int jc = 0; jc < n; jc += NC) {
      int nc = n - jc < NC ? n - jc : NC;
      for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC;
        const float *pb;
        if (pre) {
          pb = pre;
          pre += (size_t)((nc + NR - 1) / NR) * NR * kc;
        } else {
          if (!(one_block && packed_once)) {
            pack_b_block(bS + (long)pc * g->rsB + (long)jc * g->csB, g->rsB, g->csB, kc, nc, packed_b_buf);
            packed_once = 1;
          }
          pb = packed_b_buf;
        }
        int mode = (g->accumulate || pc > 0) ? 1 : (g->bias ? 2 : 0);
        for (int ic = 0; ic < m; ic += MC) {
          int mc = m - ic < MC ? m - ic : MC;
          pack_a_block(aS + (long)ic * g->rsA + (long)pc * g->csA, g->rsA, g->csA, mc, kc, packed_a_buf);
          for (int j0 = 0; j0 < nc; j0 += NR) {
            int cols = nc - j0 < NR ? nc - j0 : NR;
            const float *panel = pb + (size_t)(j0 / NR) * NR * kc;
            const float *biasTile = g->bias ? g->bias + jc + j0 : NULL;
            for (int i0 = 0; i0 < mc; i0 += MR) {
              int rows = mc - i0 < MR ? mc - i0 : MR;
              kernel_6x16(packed_a_buf + (size_t)i0 * kc, panel, kc, cS + (long)(ic + i0) * g->ldc + jc + j0, g->ldc, mode, biasTile, rows, cols);
            }
          }
        }
      }
    }
  }
  return 0;
}

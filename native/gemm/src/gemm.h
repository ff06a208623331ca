#ifndef TFLEET_GEMM_H
#define TFLEET_GEMM_H
#include <stddef.h>

/* Strides in float32 elements; see gemm_avx2.c. */
typedef struct {
  int batch, m, n, k;
  const float *a; long aBatch, rsA, csA;
  const float *b; long bBatch, rsB, csB;
  float *c; long cBatch, ldc;
  int accumulate;
  const float *bias; /* NULL: none */
} tfleet_gemm_args;

int tfleet_gemm(const tfleet_gemm_args *args, const float *prepacked);
size_t tfleet_packed_floats(int n, int k);
void tfleet_pack_b(const float *b, long rsB, long csB, int k, int n, float *dst);

#endif

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

/*
 * Packing buffers, owned by the caller: the addon keeps one set per Node environment (the main
 * thread, each worker thread) and frees it when that environment is torn down. Not thread-local
 * storage with a pthread destructor: Node unloads an addon a worker thread loaded when the worker
 * exits, before the thread's destructors run, and the destructor's code is gone (a SIGSEGV at
 * every rank thread's exit, found with the cold-start bench).
 */
typedef struct {
  float *a;
  float *b;
  size_t b_floats;
} tfleet_buffers;

int tfleet_gemm(const tfleet_gemm_args *args, const float *prepacked, tfleet_buffers *buffers);
void tfleet_buffers_free(tfleet_buffers *buffers);
size_t tfleet_packed_floats(int n, int k);
void tfleet_pack_b(const float *b, long rsB, long csB, int k, int n, float *dst);

#endif
